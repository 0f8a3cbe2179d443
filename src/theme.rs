//! Light and dark themes: the system's choice (`prefers-color-scheme`) unless the user picked
//! one with the switch in the top bar, which is remembered in a cookie for a year.
//!
//! The switch is three plain links to `GET /theme?set=...&back=...` (`server::theme`), so it
//! works without JavaScript. The server writes the theme on `<body data-theme>` and the CSS
//! reads it there; the browser bundle reads it back from the same attribute, so both render
//! the same header.

/// The theme a page is shown in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Theme {
    /// The system's choice.
    #[default]
    Auto,
    Light,
    Dark,
}

/// The cookie that remembers the choice.
pub const THEME_COOKIE: &str = "omnikpi_theme";

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::Auto, Theme::Light, Theme::Dark];

    /// Reads a cookie or query value; anything unknown is [`Theme::Auto`].
    pub fn parse(code: &str) -> Self {
        match code.trim() {
            "light" => Self::Light,
            "dark" => Self::Dark,
            _ => Self::Auto,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    /// The theme named by a `Cookie` header's value.
    pub fn from_cookie_header(header: &str) -> Self {
        header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == THEME_COOKIE)
            .map_or(Self::Auto, |(_, value)| Self::parse(value))
    }
}

/// The theme of the page being rendered: from the request's cookie on the server, from the
/// `<body>` the server rendered in the browser.
pub fn current_theme() -> Theme {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::use_context::<axum::http::request::Parts>()
            .and_then(|parts| {
                parts
                    .headers
                    .get(axum::http::header::COOKIE)
                    .and_then(|v| v.to_str().ok())
                    .map(Theme::from_cookie_header)
            })
            .unwrap_or_default()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        leptos::prelude::document()
            .body()
            .and_then(|body| body.get_attribute("data-theme"))
            .map_or(Theme::Auto, |code| Theme::parse(&code))
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        Theme::Auto
    }
}

/// A `back` target that stays on this site: a path starting with one `/`, else `/`.
pub fn local_target(back: &str) -> &str {
    let ok = back.starts_with('/')
        && !back.starts_with("//")
        && !back.starts_with("/\\")
        && !back.chars().any(|c| c.is_control());
    if ok { back } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_names_the_theme_and_anything_else_is_auto() {
        assert_eq!(
            Theme::from_cookie_header("a=1; omnikpi_theme=dark; b=2"),
            Theme::Dark
        );
        assert_eq!(
            Theme::from_cookie_header("omnikpi_theme=light"),
            Theme::Light
        );
        assert_eq!(Theme::from_cookie_header("omnikpi_theme=neon"), Theme::Auto);
        assert_eq!(Theme::from_cookie_header(""), Theme::Auto);
    }

    #[test]
    fn the_way_back_never_leaves_the_site() {
        assert_eq!(local_target("/dept/stores?lang=it"), "/dept/stores?lang=it");
        assert_eq!(local_target("//evil.example/"), "/");
        assert_eq!(local_target("/\\evil.example/"), "/");
        assert_eq!(local_target("https://evil.example/"), "/");
        assert_eq!(local_target("/x\r\nSet-Cookie: a=b"), "/");
    }
}
