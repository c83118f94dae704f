# `toJSON` and `fromJSON` of a value of about 10 MB of JSON: 50 000 records of strings, numbers,
# Booleans, nulls and lists, the text written and read back twice.
let
  record = i: {
    name = "record-${toString i}";
    id = i;
    ratio = i * 0.5;
    enabled = i / 2 * 2 == i;
    parent = null;
    tags = [ "a${toString i}" "b" "c\n\"quoted\"" ];
    meta = { description = "The record number ${toString i}, with some text to make it longer."; weight = i * 3; };
  };
  value = builtins.genList record 50000;
  text = builtins.toJSON value;
  back = builtins.fromJSON text;
  again = builtins.toJSON back;
in [ (builtins.stringLength text) (builtins.length back) (again == text) ]
