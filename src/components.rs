//! Building blocks shared by the pages.

pub mod chart;
pub mod forms;
pub mod head;
pub mod header;
pub mod kpi_tile;
pub mod period_form;
pub mod table;
