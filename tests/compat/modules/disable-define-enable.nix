{ disabledModules = [ ./define-enable.nix ]; }
