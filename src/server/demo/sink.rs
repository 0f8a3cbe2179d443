//! Where the generator's rows go: each row is written to its source's file as soon as it is
//! made, so the generator's memory does not grow with the events (issue #21: `demo --scale`
//! at 10M and 100M events). Only the rows a later layer reads again are also kept: the ad
//! clicks (the impressions follow them) and the chats (the CSAT answers follow them).
//!
//! A write error does not stop the generator in the middle of a loop: the sink keeps the
//! first error, drops the rows after it, and [`Sink::finish`] returns it.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::DemoError;
use super::export::{self, ExportWriter};
use crate::server::ingest::mapping::Mapping;

/// How the files are written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    /// Canonical CSV (`{source}.csv`), which loads without a mapping.
    Canonical,
    /// Each source's own export format, read back through its example mapping.
    Export,
    /// Nothing written: rows are only counted (sizing a generation).
    Count,
}

enum Writer {
    Canonical(std::io::BufWriter<std::fs::File>),
    Export(Box<ExportWriter>),
    Count,
}

/// One source's output file, open while the generator runs.
pub(super) struct Sink {
    source: &'static str,
    dir: PathBuf,
    path: PathBuf,
    writer: Writer,
    rows: u64,
    kept: Option<Vec<String>>,
    failed: Option<DemoError>,
}

/// A file the generator finished.
pub(super) struct Written {
    pub source: &'static str,
    pub path: PathBuf,
    pub rows: u64,
    /// The mapping that reads the file ([`Form::Export`] only).
    pub mapping: Option<Mapping>,
}

impl Sink {
    /// Creates the file of `source` in `dir` for rows with the columns of `header`.
    pub fn open(
        form: Form,
        dir: &Path,
        source: &'static str,
        header: &str,
    ) -> Result<Self, DemoError> {
        let write_err = |source| DemoError::Write {
            dir: dir.to_path_buf(),
            source,
        };
        let (path, writer) = match form {
            Form::Canonical => {
                let path = dir.join(format!("{source}.csv"));
                let mut file =
                    std::io::BufWriter::new(std::fs::File::create(&path).map_err(write_err)?);
                writeln!(file, "{header}").map_err(write_err)?;
                (path, Writer::Canonical(file))
            }
            Form::Export => {
                let export = export::export_of(source).ok_or(DemoError::NoExport(source))?;
                let path = dir.join(export.file);
                let writer = ExportWriter::create(export, header, &path)?;
                (path, Writer::Export(Box::new(writer)))
            }
            Form::Count => (PathBuf::new(), Writer::Count),
        };
        Ok(Self {
            source,
            dir: dir.to_path_buf(),
            path,
            writer,
            rows: 0,
            kept: None,
            failed: None,
        })
    }

    /// Also keeps every row in memory, for a later layer to read ([`Self::kept`]).
    pub fn keeping(mut self) -> Self {
        self.kept = Some(Vec::new());
        self
    }

    /// Writes one canonical CSV line.
    pub fn push(&mut self, line: String) {
        if self.failed.is_some() {
            return;
        }
        let written = match &mut self.writer {
            Writer::Canonical(file) => {
                writeln!(file, "{line}").map_err(|source| DemoError::Write {
                    dir: self.dir.clone(),
                    source,
                })
            }
            Writer::Export(writer) => writer.row(&line).map_err(DemoError::from),
            Writer::Count => Ok(()),
        };
        match written {
            Ok(()) => {
                self.rows += 1;
                if let Some(kept) = &mut self.kept {
                    kept.push(line);
                }
            }
            Err(e) => self.failed = Some(e),
        }
    }

    /// Writes each of `lines`, in order.
    pub fn extend(&mut self, lines: impl IntoIterator<Item = String>) {
        for line in lines {
            self.push(line);
        }
    }

    /// The rows written so far, when the sink keeps them ([`Self::keeping`]); none otherwise.
    pub fn kept(&self) -> &[String] {
        self.kept.as_deref().unwrap_or_default()
    }

    /// Flushes the file; the first write error, if any.
    pub fn finish(self) -> Result<Written, DemoError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let mapping = match self.writer {
            Writer::Canonical(mut file) => {
                file.flush().map_err(|source| DemoError::Write {
                    dir: self.dir.clone(),
                    source,
                })?;
                None
            }
            Writer::Export(writer) => Some(writer.finish()?.0),
            Writer::Count => None,
        };
        Ok(Written {
            source: self.source,
            path: self.path,
            rows: self.rows,
            mapping,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "event_id,occurred_at,event_type";

    fn line(i: u32) -> String {
        format!("e{i},2026-01-01T10:00:00,visit")
    }

    /// Rows reach the file while the generator runs, and are not kept unless asked: a sink
    /// that collected its rows would hold every event of a 100M demo in memory.
    #[test]
    fn rows_are_written_as_they_come_and_not_kept() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut sink = Sink::open(Form::Canonical, dir.path(), "pos", HEADER)?;
        for i in 0..10_000 {
            sink.push(line(i));
        }
        let on_disk = std::fs::metadata(dir.path().join("pos.csv"))?.len();
        assert!(
            on_disk > 100_000,
            "only {on_disk} bytes written before the end"
        );
        assert!(sink.kept().is_empty());
        let written = sink.finish()?;
        assert_eq!(written.rows, 10_000);
        let text = std::fs::read_to_string(&written.path)?;
        assert_eq!(text.lines().next(), Some(HEADER));
        assert_eq!(text.lines().nth(10_000), Some(line(9_999).as_str()));
        Ok(())
    }

    #[test]
    fn a_keeping_sink_writes_and_keeps() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut sink = Sink::open(Form::Canonical, dir.path(), "ads", HEADER)?.keeping();
        sink.extend((0..3).map(line));
        assert_eq!(sink.kept(), [line(0), line(1), line(2)]);
        assert_eq!(sink.finish()?.rows, 3);
        Ok(())
    }

    /// A row the export cannot express is an error at the end, not a panic in the middle,
    /// and the rows after it are not written.
    #[test]
    fn the_first_error_is_kept_for_finish() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut sink = Sink::open(Form::Export, dir.path(), "pos", super::super::HEADER)?;
        sink.push("x1,2026-01-01T10:00:00,visit,store,,,,,,,,,,,,,,extra".to_string());
        sink.push(line(2));
        assert!(matches!(sink.finish(), Err(DemoError::Export(_))));
        Ok(())
    }
}
