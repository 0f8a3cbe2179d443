//! One module per screen. Pages read their state from the URL query, so a copied link shows
//! exactly the same view, and fetch their data through server functions.

pub mod account;
pub mod admin;
pub mod company;
pub mod customer;
pub mod journeys;
pub mod login;
pub mod not_found;
