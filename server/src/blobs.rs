//! Photo blob storage behind one interface; a local folder is the default. Blobs are sealed
//! ciphertext, checked against the signed envelope header before they are kept. Partial
//! uploads live beside them until complete, so an upload can resume after any interruption.

use std::io::{Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use fieldseal_core::wire::envelope::Id16;

/// Where sealed photo blobs are kept. Every write is durable when the call returns.
pub trait BlobStore: Send + Sync {
    /// Bytes held of an unfinished upload (0 if none).
    fn partial_len(&self, envelope_id: &Id16, index: u16) -> std::io::Result<u64>;
    /// Appends `bytes` at `offset` (which must equal the partial length) and returns the new length.
    fn append_partial(&self, envelope_id: &Id16, index: u16, offset: u64, bytes: &[u8]) -> std::io::Result<u64>;
    /// The whole unfinished upload.
    fn read_partial(&self, envelope_id: &Id16, index: u16) -> std::io::Result<Vec<u8>>;
    /// Drops an unfinished upload.
    fn discard_partial(&self, envelope_id: &Id16, index: u16) -> std::io::Result<()>;
    /// Turns a verified upload into the stored blob.
    fn commit_partial(&self, envelope_id: &Id16, index: u16) -> std::io::Result<()>;
    /// A stored blob.
    fn get(&self, envelope_id: &Id16, index: u16) -> std::io::Result<Option<Vec<u8>>>;
}

/// Blobs as files: `blobs/<first two hex digits>/<envelope>-<index>.blob`.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    /// A store under `root` (created if missing).
    pub fn open(root: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(root.join("partial"))?;
        Ok(Self { root: root.to_path_buf() })
    }

    fn final_path(&self, id: &Id16, index: u16) -> PathBuf {
        let hex = id.to_hex();
        self.root.join(&hex[..2]).join(format!("{hex}-{index}.blob"))
    }

    fn partial_path(&self, id: &Id16, index: u16) -> PathBuf {
        self.root.join("partial").join(format!("{}-{index}.part", id.to_hex()))
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

impl BlobStore for LocalBlobStore {
    fn partial_len(&self, id: &Id16, index: u16) -> std::io::Result<u64> {
        match std::fs::metadata(self.partial_path(id, index)) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    fn append_partial(&self, id: &Id16, index: u16, offset: u64, bytes: &[u8]) -> std::io::Result<u64> {
        let path = self.partial_path(id, index);
        let mut f = std::fs::OpenOptions::new().create(true).write(true).truncate(false).open(&path)?;
        // Bytes past `offset` are from a chunk whose answer never arrived: overwrite them.
        f.set_len(offset)?;
        f.seek(SeekFrom::Start(offset))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        if offset == 0 {
            sync_dir(&self.root.join("partial"))?;
        }
        Ok(offset + bytes.len() as u64)
    }

    fn read_partial(&self, id: &Id16, index: u16) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.partial_path(id, index))
    }

    fn discard_partial(&self, id: &Id16, index: u16) -> std::io::Result<()> {
        match std::fs::remove_file(self.partial_path(id, index)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn commit_partial(&self, id: &Id16, index: u16) -> std::io::Result<()> {
        let dest = self.final_path(id, index);
        let dir = dest.parent().expect("blob paths have a parent");
        std::fs::create_dir_all(dir)?;
        std::fs::rename(self.partial_path(id, index), &dest)?;
        sync_dir(dir)?;
        sync_dir(&self.root.join("partial"))
    }

    fn get(&self, id: &Id16, index: u16) -> std::io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.final_path(id, index)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_resume_overwrite_unanswered_tails_and_commit() {
        let dir = tempfile::tempdir().expect("dir");
        let store = LocalBlobStore::open(dir.path()).expect("opens");
        let id = Id16([7; 16]);
        assert_eq!(store.partial_len(&id, 0).expect("len"), 0);
        assert_eq!(store.append_partial(&id, 0, 0, b"hello ").expect("append"), 6);
        assert_eq!(store.append_partial(&id, 0, 6, b"wor").expect("append"), 9);
        // The client never saw the answer to "wor" and resends from 6.
        assert_eq!(store.append_partial(&id, 0, 6, b"world").expect("append"), 11);
        assert_eq!(store.read_partial(&id, 0).expect("read"), b"hello world");
        assert!(store.get(&id, 0).expect("get").is_none());
        store.commit_partial(&id, 0).expect("commit");
        assert_eq!(store.get(&id, 0).expect("get").as_deref(), Some(&b"hello world"[..]));
        assert_eq!(store.partial_len(&id, 0).expect("len"), 0);
        store.append_partial(&id, 1, 0, b"junk").expect("append");
        store.discard_partial(&id, 1).expect("discard");
        assert_eq!(store.partial_len(&id, 1).expect("len"), 0);
    }
}
