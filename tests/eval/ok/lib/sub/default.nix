[ "sub" ]
