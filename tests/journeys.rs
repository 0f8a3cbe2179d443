//! Journeys from hand-made events.

mod common;
