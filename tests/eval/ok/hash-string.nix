map (a: [ (builtins.hashString a "") (builtins.hashString a "abc") (builtins.hashString a "héllo\n") ]) [ "md5" "sha1" "sha256" "sha512" ]
