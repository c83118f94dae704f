{ lib, ... }: assert 1 == 2; { value = 1; }
