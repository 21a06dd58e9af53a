//! `uniffi-bindgen generate <libfieldseal_mobile.so> --language kotlin|swift|python --out-dir DIR`:
//! reads the interface from the built library's metadata (library mode).
fn main() {
    uniffi::uniffi_bindgen_main()
}
