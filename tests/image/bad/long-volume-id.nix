# Bad input: an ISO 9660 volume ID has at most 32 characters from [A-Z0-9_-].
{
  imports = [ ../macbook-test.nix ];
  isoImage.volumeID = "KILN_A_VOLUME_ID_FAR_LONGER_THAN_32";
}
