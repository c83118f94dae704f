[ (baseNameOf (./. + "/foo")) (builtins.typeOf (./. + "/foo")) (builtins.typeOf ("x" + "y")) (baseNameOf (./a/b + "/../c")) ]
