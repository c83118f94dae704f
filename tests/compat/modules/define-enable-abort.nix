{ enable = abort "stop right there"; }
