//! `Sec-WebSocket-Extensions` values (RFC 6455 §9.1).
//!
//! ```text
//! extension-list = 1#extension
//! extension = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```

/// One extension from a `Sec-WebSocket-Extensions` header, with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The extension token, for example `permessage-deflate`.
    pub name: String,
    /// Its parameters in order; a parameter without `=` has no value.
    pub params: Vec<(String, Option<String>)>,
}

/// Parses one header value into its extensions; `None` if it is malformed.
pub(crate) fn parse_extensions(value: &str) -> Option<Vec<Extension>> {
    let mut out = Vec::new();
    for item in split_outside_quotes(value, ',') {
        let mut parts = split_outside_quotes(item, ';').into_iter();
        let name = parts.next()?.trim();
        if !is_token(name) {
            return None;
        }
        let mut params = Vec::new();
        for param in parts {
            let (key, value) = match param.split_once('=') {
                Some((k, v)) => (k.trim(), Some(unquote(v.trim())?)),
                None => (param.trim(), None),
            };
            if !is_token(key) {
                return None;
            }
            params.push((key.to_owned(), value));
        }
        out.push(Extension {
            name: name.to_owned(),
            params,
        });
    }
    Some(out)
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A token, or a quoted string whose content is a token (§9.1: "the value MUST conform to the
/// token ABNF ... after unescaping").
fn unquote(v: &str) -> Option<String> {
    let inner = match v.strip_prefix('"') {
        Some(rest) => {
            let body = rest.strip_suffix('"')?;
            let mut s = String::with_capacity(body.len());
            let mut chars = body.chars();
            while let Some(c) = chars.next() {
                s.push(if c == '\\' { chars.next()? } else { c });
            }
            s
        }
        None => v.to_owned(),
    };
    is_token(&inner).then_some(inner)
}

fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_params_and_quotes() {
        let exts = parse_extensions(
            "permessage-deflate; client_max_window_bits=\"10\"; server_no_context_takeover, x-foo",
        )
        .unwrap();
        assert_eq!(exts.len(), 2);
        assert_eq!(exts[0].name, "permessage-deflate");
        assert_eq!(
            exts[0].params,
            vec![
                ("client_max_window_bits".into(), Some("10".into())),
                ("server_no_context_takeover".into(), None)
            ]
        );
        assert_eq!(
            exts[1],
            Extension {
                name: "x-foo".into(),
                params: vec![]
            }
        );
        assert_eq!(parse_extensions(""), None);
        assert_eq!(parse_extensions("a b"), None);
        assert_eq!(parse_extensions("a; p=\"x y\""), None);
    }
}
