<?php
/**
 * Plugin Name: TTHC pipeline — publishing keys
 * Description: Registers the meta fields the tthc-pipeline publisher stores on the posts and pages it
 *              writes (its idempotency key and content digests), so that the REST API keeps them and
 *              the publisher recognises its own objects. Without it WordPress silently drops them and
 *              the publisher refuses to write.
 * Version:     1.0
 * License:     GPL-2.0-or-later
 *
 * Install as a must-use plugin: copy this file into wp-content/mu-plugins/ (create the directory if
 * needed; on Debian's package: /var/lib/wordpress/wp-content/mu-plugins/). Must-use plugins are always
 * active; nothing to switch on in the dashboard. Needs WordPress 5.3 or later.
 */

if (!defined('ABSPATH')) {
    exit;
}

/** The meta keys the publisher writes: its key (e.g. "procedure:1.001155") and two SHA-256 digests. */
const TTHC_META_KEYS = array(
    'tthc_key' => 'tthc-pipeline: the object key (e.g. procedure:1.001155)',
    'tthc_hash' => 'tthc-pipeline: digest of everything published in this object',
    'tthc_content_sha' => 'tthc-pipeline: SHA-256 of the content as written (a different one: edited by hand)',
);

function tthc_register_publishing_meta() {
    foreach (array('post', 'page') as $post_type) {
        foreach (TTHC_META_KEYS as $key => $description) {
            register_post_meta($post_type, $key, array(
                'type' => 'string',
                'description' => $description,
                'single' => true,
                'default' => '',
                'show_in_rest' => true,
                // only accounts that can edit posts may write them (the publisher's editor account)
                'auth_callback' => function () {
                    return current_user_can('edit_posts');
                },
            ));
        }
    }
}

add_action('init', 'tthc_register_publishing_meta');
