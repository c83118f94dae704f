map builtins.toXML [ 1 "s" null true 1.5 [ ] { } (x: x) ({ a, b }: a) (a@{ ... }: a) builtins.add (builtins.add 1) ]
