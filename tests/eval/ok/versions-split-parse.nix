[
  (builtins.splitVersion "1.2.3-rc1pre_x..5") (builtins.splitVersion "") (builtins.splitVersion "1.0pre1")
  (builtins.splitVersion "2.3a") (builtins.splitVersion "...") (builtins.splitVersion "abc") (builtins.splitVersion "1é2")
  (builtins.parseDrvName "nix-0.12pre12876") (builtins.parseDrvName "a-b-c") (builtins.parseDrvName "a-")
  (builtins.parseDrvName "-1") (builtins.parseDrvName "foo-é1") (builtins.parseDrvName "hello-2.10")
  (builtins.parseDrvName "gtk+-3.24.5") (builtins.parseDrvName "") (builtins.parseDrvName "python3.9-foo-1.0")
  (builtins.parseDrvName "foo-bar-baz-1.2-3")
]
