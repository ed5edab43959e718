<?php
/**
 * Router for `php -S` serving a WordPress from this directory (a tree of symlinks to the Debian
 * package's files plus our own wp-config.php): existing static files are served as they are, a PHP
 * file is run, anything else (pretty permalinks, /wp-json/...) goes to index.php.
 *
 * ABSPATH is defined here so that wp-load.php (a symlink, whose __DIR__ is the package's directory)
 * loads the wp-config.php of this directory and not the package's /etc/wordpress lookup.
 */
define('ABSPATH', __DIR__ . '/');

$tthc_path = urldecode((string) parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH));
$tthc_file = ABSPATH . ltrim($tthc_path, '/');
if (is_dir($tthc_file)) {
    $tthc_file = rtrim($tthc_file, '/') . '/index.php';
}
if (is_file($tthc_file) && substr($tthc_file, -4) !== '.php') {
    return false; // a static file (an upload, a stylesheet): the built-in server sends it
}
if (!is_file($tthc_file)) {
    $tthc_file = ABSPATH . 'index.php';
}
$_SERVER['SCRIPT_FILENAME'] = $tthc_file;
$_SERVER['SCRIPT_NAME'] = $_SERVER['PHP_SELF'] = '/' . substr($tthc_file, strlen(ABSPATH));
chdir(dirname($tthc_file));
unset($tthc_path);
require $tthc_file;
