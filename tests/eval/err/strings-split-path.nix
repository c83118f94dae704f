builtins.split "a" ./.
