//! HTTP requests as Lambda events and function results as HTTP responses, the way
//! Lambda's HTTP fronts build and read them: function URLs and API Gateway HTTP APIs
//! (payload format 2.0), and HTTP APIs' REST-style payload format 1.0; the platform's
//! CORS handling. Nothing here knows the engine or a server: the api crate hands in a
//! request's parts and body and gets back the event to invoke with, then hands in the
//! function's answer and gets back the response to send.

pub mod cors;
pub mod prelude;
pub mod response;
pub mod routes;
pub mod v1;
pub mod v2;

pub use prelude::{Piece, Prelude, PreludeError, PreludeSplitter, HTTP_INTEGRATION_CONTENT_TYPE};
