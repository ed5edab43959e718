<?php
/**
 * Install a fresh WordPress site without a browser and without mail, then create the accounts the
 * contract tests use. Run with the PHP CLI from the site's directory:
 *
 *   php setup.php '{"title": ..., "admin": ..., "users": [{"login": ..., "role": ...}]}'
 *
 * Prints JSON: {"users": {login: {"id": ..., "role": ..., "app_password": ...}}}.
 */
define('ABSPATH', __DIR__ . '/');
define('WP_INSTALLING', true);
$_SERVER['HTTP_HOST'] = parse_url(getenv('TTHC_WP_URL'), PHP_URL_HOST) . ':' . parse_url(getenv('TTHC_WP_URL'), PHP_URL_PORT);
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';

// The installer mails the administrator and waits ~10 s for sendmail: no mail in this site.
function wp_mail() {
    return true;
}

$args = json_decode($argv[1], true);
require ABSPATH . 'wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

$installed = wp_install($args['title'], $args['admin'], $args['admin'] . '@example.invalid', false, '',
                        wp_generate_password(24, false));
if (is_wp_error($installed)) {
    fwrite(STDERR, $installed->get_error_message() . "\n");
    exit(1);
}
update_option('permalink_structure', '/%postname%/');
global $wp_rewrite;
$wp_rewrite->init();
$wp_rewrite->flush_rules(false);

$out = array('users' => array());
foreach ($args['users'] as $user) {
    $id = wp_insert_user(array(
        'user_login' => $user['login'],
        'user_pass' => wp_generate_password(24, false),
        'user_email' => $user['login'] . '@example.invalid',
        'role' => $user['role'],
    ));
    if (is_wp_error($id)) {
        fwrite(STDERR, $id->get_error_message() . "\n");
        exit(1);
    }
    $created = WP_Application_Passwords::create_new_application_password($id, array('name' => 'tthc-pipeline'));
    if (is_wp_error($created)) {
        fwrite(STDERR, $created->get_error_message() . "\n");
        exit(1);
    }
    $out['users'][$user['login']] = array('id' => $id, 'role' => $user['role'],
                                          'app_password' => WP_Application_Passwords::chunk_password($created[0]));
}
echo json_encode($out), "\n";
