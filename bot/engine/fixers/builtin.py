"""The built-in fixers: importing this module registers every one of them.

Each rule module registers its fixer classes with `@register` when it is imported;
`registry._load` imports this module once. The list is written out, not discovered by
module name at run time, so readers, type checkers and packagers see the same set
(tests/test_fixer_plugins.py fails when a rule module is missing from it).
"""

from __future__ import annotations

from types import ModuleType

from bot.engine.fixers import (
    assert_used,
    bind_all,
    defused_xml,
    flask_debug,
    ftplib_tls,
    hardcoded_secrets,
    hashlib_weak,
    http_requests,
    jinja2_autoescape,
    mark_safe,
    markupsafe_escape,
    mktemp,
    os_system,
    paramiko_hostkey,
    random_secrets,
    sql_params,
    ssl_tls,
    subprocess_shell,
    tarfile_filter,
    tmp_dir,
    torch_load,
    trojan_source,
    try_except,
    urlopen_scheme,
    weak_keys,
    yaml_load,
)

#: The rule modules, in the order their fixers are registered (and tried, for a shared rule id).
MODULES: tuple[ModuleType, ...] = (
    assert_used,
    bind_all,
    defused_xml,
    flask_debug,
    ftplib_tls,
    hardcoded_secrets,
    hashlib_weak,
    http_requests,
    jinja2_autoescape,
    mark_safe,
    markupsafe_escape,
    mktemp,
    os_system,
    paramiko_hostkey,
    random_secrets,
    sql_params,
    ssl_tls,
    subprocess_shell,
    tarfile_filter,
    tmp_dir,
    torch_load,
    trojan_source,
    try_except,
    urlopen_scheme,
    weak_keys,
    yaml_load,
)
