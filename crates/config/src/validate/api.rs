//! The `[api]` rules: whether reads of `/api/v1` need a token. A boolean
//! only, so nothing here can be wrong beyond its TOML type (which the
//! reader reports); the function still destructures the raw table whole, so
//! a new key does not compile until it is taken apart here.

use crate::model::ApiConfig;
use crate::raw::RawApi;

pub(super) fn validate_api(raw: RawApi) -> ApiConfig {
    let RawApi { public_read } = raw;
    ApiConfig {
        public_read: public_read.is_some_and(|flag| flag.value),
    }
}
