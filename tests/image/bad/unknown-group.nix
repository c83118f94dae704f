# Bad input: a user in a group nobody defines. The system layer's builder refuses it, naming the
# user's option and the group; nothing is registered in the store.
{ ... }:
{
  imports = [ ../../../profiles/installer/cd-dvd/installation-cd-minimal.nix ];
  users.users.bob = { isNormalUser = true; extraGroups = [ "no-such-group" ]; };
}
