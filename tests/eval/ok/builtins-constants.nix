[ builtins.currentSystem builtins.nixVersion builtins.langVersion builtins.storeDir (builtins.isInt builtins.currentTime) true false null ]
