//! Assembling an initrd's contents from the module closure: for now the firmware lookup.
//! (The `/init` generator and busybox come with the driver integration.)

pub mod firmware;
