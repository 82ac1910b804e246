//! SNS as the client speaks it (the query protocol, signed for `sns`, answering XML):
//! ListSubscriptions, all pages, read from its `<member>` elements.

use ureq::http::Method;

use super::http::{encode, Client};

/// The credential scope's service of the SNS API.
const SERVICE: &str = "sns";

/// Pages followed at most (a server that kept answering new tokens would otherwise keep
/// `hearth ls` waiting forever).
const MAX_PAGES: usize = 1000;

/// One subscription of ListSubscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub arn: String,
    pub protocol: String,
    pub endpoint: String,
    pub topic_arn: String,
}

/// Every subscription of the caller's account.
pub fn subscriptions(client: &Client) -> anyhow::Result<Vec<Subscription>> {
    let mut all = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let body = list_request(next.as_deref());
        let headers = [(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )];
        let reply = client.send_to(SERVICE, Method::POST, "/", &headers, Some(body))?;
        if !reply.is_success() {
            // A query-protocol error is XML; its code is enough for a caller that only
            // needs to know that the listing failed.
            let xml = String::from_utf8_lossy(&reply.body);
            let code = leaf(&xml, "Code").unwrap_or_else(|| format!("HTTP {}", reply.status));
            let message = leaf(&xml, "Message").unwrap_or_default();
            anyhow::bail!("{code}: {message}");
        }
        let xml = String::from_utf8_lossy(&reply.body);
        all.extend(members(&xml));
        match leaf(&xml, "NextToken") {
            Some(token) if !token.is_empty() && next.as_deref() != Some(&token) => {
                next = Some(token);
            }
            _ => break,
        }
    }
    Ok(all)
}

fn list_request(next: Option<&str>) -> Vec<u8> {
    let mut form = "Action=ListSubscriptions&Version=2010-03-31".to_string();
    if let Some(token) = next {
        form.push_str(&format!("&NextToken={}", encode(token)));
    }
    form.into_bytes()
}

/// The subscriptions of a ListSubscriptions answer.
fn members(xml: &str) -> Vec<Subscription> {
    let Some(list) = element(xml, "Subscriptions") else {
        return Vec::new();
    };
    list.split("<member>")
        .skip(1)
        .filter_map(|rest| rest.split("</member>").next())
        .map(|member| {
            let field = |tag| leaf(member, tag).unwrap_or_default();
            Subscription {
                arn: field("SubscriptionArn"),
                protocol: field("Protocol"),
                endpoint: field("Endpoint"),
                topic_arn: field("TopicArn"),
            }
        })
        .collect()
}

/// The raw content of the first `<tag>...</tag>`.
fn element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(&xml[start..end])
}

/// The text of the first `<tag>...</tag>`, its entities decoded.
fn leaf(xml: &str, tag: &str) -> Option<String> {
    element(xml, tag).map(unescape)
}

/// XML's five predefined entities and numeric character references (what SNS's answers
/// escape).
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let decoded = match &rest[1..semi] {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            entity => entity
                .strip_prefix("#x")
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<ListSubscriptionsResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ListSubscriptionsResult><Subscriptions><member><SubscriptionArn>arn:aws:sns:us-east-1:000000000000:t:1</SubscriptionArn><Owner>000000000000</Owner><Protocol>lambda</Protocol><Endpoint>arn:aws:lambda:us-east-1:000000000000:function:f</Endpoint><TopicArn>arn:aws:sns:us-east-1:000000000000:t</TopicArn></member><member><SubscriptionArn>PendingConfirmation</SubscriptionArn><Owner>000000000000</Owner><Protocol>http</Protocol><Endpoint>http://h/?a=1&amp;b=&#x32;</Endpoint><TopicArn>arn:aws:sns:us-east-1:000000000000:t</TopicArn></member></Subscriptions><NextToken>tok&amp;1</NextToken></ListSubscriptionsResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListSubscriptionsResponse>"#;

    #[test]
    fn reads_every_member() {
        assert_eq!(
            members(PAGE),
            vec![
                Subscription {
                    arn: "arn:aws:sns:us-east-1:000000000000:t:1".into(),
                    protocol: "lambda".into(),
                    endpoint: "arn:aws:lambda:us-east-1:000000000000:function:f".into(),
                    topic_arn: "arn:aws:sns:us-east-1:000000000000:t".into(),
                },
                Subscription {
                    arn: "PendingConfirmation".into(),
                    protocol: "http".into(),
                    endpoint: "http://h/?a=1&b=2".into(),
                    topic_arn: "arn:aws:sns:us-east-1:000000000000:t".into(),
                },
            ]
        );
        assert_eq!(leaf(PAGE, "NextToken").as_deref(), Some("tok&1"));
        assert_eq!(members("<ListSubscriptionsResult/>"), Vec::new());
    }

    #[test]
    fn unescapes_entities() {
        assert_eq!(
            unescape("a &lt;b&gt; &quot;c&apos; &#65;&amp;"),
            "a <b> \"c' A&"
        );
        assert_eq!(unescape("AT&T; & x"), "AT&T; & x");
    }

    #[test]
    fn list_form() {
        assert_eq!(
            list_request(None),
            b"Action=ListSubscriptions&Version=2010-03-31"
        );
        assert_eq!(
            list_request(Some("a+b=")),
            b"Action=ListSubscriptions&Version=2010-03-31&NextToken=a%2Bb%3D"
        );
    }
}
