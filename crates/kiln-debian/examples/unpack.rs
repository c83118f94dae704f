//! Times the phases of one `.deb`'s fetch + unpack without the network: SHA-256 of the file,
//! unpacking, and the store's tree hash. For finding where `tests/bench/fetch.sh` spends time.
//!
//! ```text
//! cargo run --release -p kiln-debian --example unpack -- FILE.deb OUT_DIR
//! ```

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [deb, out] = args.as_slice() else {
        return Err("usage: unpack FILE.deb OUT_DIR".into());
    };
    let started = Instant::now();
    kiln_debian::sha256_file(deb.as_ref())?;
    println!("sha256 {:.3}s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    kiln_debian::unpack_deb(deb.as_ref(), out.as_ref())?;
    println!("unpack {:.3}s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    kiln_store::hash_tree(out.as_ref())?;
    println!("hash_tree {:.3}s", started.elapsed().as_secs_f64());
    Ok(())
}
