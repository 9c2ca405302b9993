//! SQS's awsQuery protocol: `Action=<Operation>&Version=2012-11-05` form parameters, in a
//! `POST` body (`application/x-www-form-urlencoded`) or a `GET` query string, addressed to the
//! endpoint or to the queue URL itself; XML answers and XML errors.
//!
//! Both SQS protocols share one core: [`QueryRequest::decode`] turns the flattened
//! parameters (`Attribute.1.Name`, `MessageAttribute.1.Value.StringValue`,
//! `SendMessageBatchRequestEntry.1.Id`, ...) into the JSON input shape the JSON protocol
//! carries, and [`encode`] writes the core's JSON result as the XML AWS sends. The member
//! names, flattening and result wrappers are those of the last awsQuery service model
//! (botocore 1.30, `botocore/data/sqs/2012-11-05/service-2.json`).

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde_json::{Map, Value};

use super::Service;
use super::errors::{fault, sqs_query_code, status};
use crate::error::AwsError;

/// The XML namespace of SQS's answers.
pub const XMLNS: &str = "http://queue.amazonaws.com/doc/2012-11-05/";

/// The content type of a query request body.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// A query-protocol request: the operation and its input in the JSON protocol's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryRequest {
    pub action: String,
    pub input: Value,
}

impl QueryRequest {
    /// Reads a query request from its URI and body; `None` when it carries no `Action`
    /// (then it is not a query request). The queue URL may be the request's path.
    pub fn from_http(
        uri: &http::Uri,
        content_type: Option<&str>,
        host: &str,
        body: &[u8],
    ) -> Option<QueryRequest> {
        let mut params: Vec<(String, String)> = uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        if content_type.is_some_and(|ct| ct.starts_with(FORM)) {
            params.extend(form_urlencoded::parse(body).into_owned());
        }
        let mut request = QueryRequest::decode(&params)?;
        let path = uri.path().trim_end_matches('/');
        if !path.is_empty()
            && let Some(input) = request.input.as_object_mut()
        {
            input
                .entry("QueueUrl")
                .or_insert_with(|| Value::String(format!("http://{host}{path}")));
        }
        Some(request)
    }

    /// Decodes flattened query parameters into the operation's JSON input.
    pub fn decode(params: &[(String, String)]) -> Option<QueryRequest> {
        let action = params.iter().find(|(k, _)| k == "Action")?.1.clone();
        let mut tree = Branch::default();
        for (key, value) in params {
            if !is_protocol_parameter(key) {
                tree.insert(&key.split('.').collect::<Vec<_>>(), value);
            }
        }
        let input = Value::Object(tree.into_object(&action));
        Some(QueryRequest { action, input })
    }
}

/// Parameters of the protocol itself (and of SigV2/SigV4 query signing), not of the operation.
fn is_protocol_parameter(key: &str) -> bool {
    matches!(
        key,
        "Action"
            | "Version"
            | "AWSAccessKeyId"
            | "Signature"
            | "SignatureMethod"
            | "SignatureVersion"
            | "Timestamp"
            | "Expires"
            | "SecurityToken"
    ) || key.starts_with("X-Amz-")
}

/// The parameters as a tree: `A.1.B=v` is `A -> 1 -> B -> v`.
#[derive(Debug, Default)]
struct Branch(BTreeMap<String, Node>);

#[derive(Debug)]
enum Node {
    Leaf(String),
    Branch(Branch),
}

/// How a flattened query member maps onto the JSON shape.
enum Member {
    /// `Name.N` (or `Name.N.Member...`) -> `"json": [..]`.
    List(&'static str),
    /// `Name.N.<key>` / `Name.N.<value>` -> `"json": {key: value}`.
    Map(&'static str, &'static str, &'static str),
}

/// The query members that are lists or maps, by their query name (per operation where the
/// model differs: CreateQueue's tags member is lower-case).
fn member(action: &str, name: &str) -> Option<Member> {
    Some(match name {
        "Attribute" => Member::Map("Attributes", "Name", "Value"),
        "MessageAttribute" => Member::Map("MessageAttributes", "Name", "Value"),
        "MessageSystemAttribute" => Member::Map("MessageSystemAttributes", "Name", "Value"),
        "Tag" if action == "CreateQueue" => Member::Map("tags", "Key", "Value"),
        "Tag" => Member::Map("Tags", "Key", "Value"),
        "AttributeName" => Member::List("AttributeNames"),
        "MessageAttributeName" => Member::List("MessageAttributeNames"),
        "MessageSystemAttributeName" => Member::List("MessageSystemAttributeNames"),
        "TagKey" => Member::List("TagKeys"),
        "StringListValue" => Member::List("StringListValues"),
        "BinaryListValue" => Member::List("BinaryListValues"),
        "SendMessageBatchRequestEntry"
        | "DeleteMessageBatchRequestEntry"
        | "ChangeMessageVisibilityBatchRequestEntry" => Member::List("Entries"),
        _ => return None,
    })
}

/// Members the JSON shapes type as integers.
fn is_integer(name: &str) -> bool {
    matches!(
        name,
        "DelaySeconds"
            | "MaxNumberOfMessages"
            | "VisibilityTimeout"
            | "WaitTimeSeconds"
            | "MaxResults"
            | "MaxNumberOfMessagesPerSecond"
    )
}

impl Branch {
    fn insert(&mut self, path: &[&str], value: &str) {
        let [head, rest @ ..] = path else { return };
        if rest.is_empty() {
            self.0
                .entry((*head).to_owned())
                .or_insert_with(|| Node::Leaf(value.to_owned()));
            return;
        }
        let node = self
            .0
            .entry((*head).to_owned())
            .or_insert_with(|| Node::Branch(Branch::default()));
        // A key given both as a value and as a prefix (`A=1&A.1=2`) keeps the first.
        if let Node::Branch(branch) = node {
            branch.insert(rest, value);
        }
    }

    /// The entries of a flattened list or map, in index order (`.1`, `.2`, ..., `.10`).
    fn indexed(self) -> Vec<Node> {
        let mut entries: Vec<(u64, Node)> = self
            .0
            .into_iter()
            .filter_map(|(k, v)| Some((k.parse().ok()?, v)))
            .collect();
        entries.sort_by_key(|(i, _)| *i);
        entries.into_iter().map(|(_, v)| v).collect()
    }

    fn into_object(self, action: &str) -> Map<String, Value> {
        let mut object = Map::new();
        for (name, node) in self.0 {
            match (member(action, &name), node) {
                (Some(Member::List(json)), Node::Branch(entries)) => {
                    let items = entries
                        .indexed()
                        .into_iter()
                        .map(|n| n.into_value(action, ""))
                        .collect();
                    object.insert(json.to_owned(), Value::Array(items));
                }
                (Some(Member::Map(json, key, value)), Node::Branch(entries)) => {
                    let mut map = Map::new();
                    for entry in entries.indexed() {
                        let Node::Branch(mut entry) = entry else {
                            continue;
                        };
                        let Some(Node::Leaf(k)) = entry.0.remove(key) else {
                            continue;
                        };
                        let v = entry
                            .0
                            .remove(value)
                            .map_or(Value::Null, |v| v.into_value(action, ""));
                        map.insert(k, v);
                    }
                    object.insert(json.to_owned(), Value::Object(map));
                }
                (_, node) => {
                    let value = node.into_value(action, &name);
                    object.insert(name, value);
                }
            }
        }
        object
    }
}

impl Node {
    fn into_value(self, action: &str, name: &str) -> Value {
        match self {
            Node::Leaf(s) if is_integer(name) => s
                .parse::<i64>()
                .map_or(Value::String(s), |n| Value::Number(n.into())),
            Node::Leaf(s) => Value::String(s),
            Node::Branch(b) => Value::Object(b.into_object(action)),
        }
    }
}

/// Operations whose answer has no `<{Op}Result>` element (their JSON answer is `{}`).
fn has_result(action: &str) -> bool {
    !matches!(
        action,
        "ChangeMessageVisibility"
            | "DeleteMessage"
            | "DeleteQueue"
            | "PurgeQueue"
            | "SetQueueAttributes"
            | "TagQueue"
            | "UntagQueue"
            | "AddPermission"
            | "RemovePermission"
    )
}

/// The XML element a JSON list member's items are written as (flattened, as the model says).
fn list_element(action: &str, json: &str) -> Option<String> {
    Some(match json {
        "QueueUrls" | "queueUrls" => "QueueUrl".into(),
        "Messages" => "Message".into(),
        "Successful" => format!("{action}ResultEntry"),
        "Failed" => "BatchResultErrorEntry".into(),
        "Results" => "ListMessageMoveTasksResultEntry".into(),
        "StringListValues" => "StringListValue".into(),
        "BinaryListValues" => "BinaryListValue".into(),
        _ => return None,
    })
}

/// The XML entry element and its key and value elements for a JSON map member.
fn map_element(json: &str) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match json {
        "Attributes" => ("Attribute", "Name", "Value"),
        "MessageAttributes" => ("MessageAttribute", "Name", "Value"),
        "Tags" => ("Tag", "Key", "Value"),
        _ => return None,
    })
}

type XmlWriter = Writer<Vec<u8>>;

fn start(w: &mut XmlWriter, name: &str) {
    // Writing into a Vec cannot fail.
    let _ = w.write_event(Event::Start(BytesStart::new(name)));
}

fn end(w: &mut XmlWriter, name: &str) {
    let _ = w.write_event(Event::End(BytesEnd::new(name)));
}

/// `<name>text</name>`; quick-xml writes `\r` as `&#13;`, so that it survives XML's line-end
/// normalisation (the client checks the body's MD5).
fn text_element(w: &mut XmlWriter, name: &str, text: &str) {
    start(w, name);
    let _ = w.write_event(Event::Text(BytesText::new(text)));
    end(w, name);
}

fn write_value(w: &mut XmlWriter, action: &str, name: &str, value: &Value) {
    match value {
        Value::Null => {}
        Value::Bool(b) => text_element(w, name, if *b { "true" } else { "false" }),
        Value::Number(n) => text_element(w, name, &n.to_string()),
        Value::String(s) => text_element(w, name, s),
        Value::Array(items) => {
            for item in items {
                write_value(w, action, name, item);
            }
        }
        Value::Object(members) => {
            start(w, name);
            write_members(w, action, members);
            end(w, name);
        }
    }
}

fn write_members(w: &mut XmlWriter, action: &str, members: &Map<String, Value>) {
    for (name, value) in members {
        match value {
            Value::Array(items) => {
                let element = list_element(action, name).unwrap_or_else(|| name.clone());
                for item in items {
                    write_value(w, action, &element, item);
                }
            }
            Value::Object(entries) if map_element(name).is_some() => {
                let (entry, key, val) = map_element(name).unwrap_or_default();
                for (k, v) in entries {
                    start(w, entry);
                    text_element(w, key, k);
                    write_value(w, action, val, v);
                    end(w, entry);
                }
            }
            _ => write_value(w, action, name, value),
        }
    }
}

fn document(write: impl FnOnce(&mut XmlWriter)) -> Vec<u8> {
    let mut w = Writer::new(Vec::with_capacity(512));
    let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", None, None)));
    write(&mut w);
    w.into_inner()
}

fn root<'a>(name: &'a str) -> BytesStart<'a> {
    BytesStart::new(name).with_attributes([("xmlns", XMLNS)])
}

/// Encodes an SQS result (or error) as the query-protocol response AWS sends:
/// `<{Op}Response><{Op}Result>..</{Op}Result><ResponseMetadata><RequestId>..`.
pub fn encode(action: &str, result: Result<Value, AwsError>, request_id: &str) -> Response<Bytes> {
    let value = match result {
        Ok(value) => value,
        Err(err) => return xml_error(err, request_id),
    };
    let response = format!("{action}Response");
    let body = document(|w| {
        let _ = w.write_event(Event::Start(root(&response)));
        if has_result(action) {
            let result = format!("{action}Result");
            start(w, &result);
            if let Value::Object(members) = &value {
                write_members(w, action, members);
            }
            end(w, &result);
        }
        start(w, "ResponseMetadata");
        text_element(w, "RequestId", request_id);
        end(w, "ResponseMetadata");
        end(w, &response);
    });
    xml_response(StatusCode::OK, body, request_id)
}

/// An SQS error as the query protocol sends it:
/// `<ErrorResponse><Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code>
/// <Message>..</Message><Detail/></Error><RequestId>..</RequestId></ErrorResponse>`.
pub fn xml_error(err: AwsError, request_id: &str) -> Response<Bytes> {
    let status = status(Service::Sqs, &err);
    let body = document(|w| {
        let _ = w.write_event(Event::Start(root("ErrorResponse")));
        start(w, "Error");
        text_element(w, "Type", fault(status));
        text_element(w, "Code", sqs_query_code(&err.code));
        text_element(w, "Message", &err.message);
        let _ = w.write_event(Event::Empty(BytesStart::new("Detail")));
        end(w, "Error");
        text_element(w, "RequestId", request_id);
        end(w, "ErrorResponse");
    });
    xml_response(status, body, request_id)
}

fn xml_response(status: StatusCode, body: Vec<u8>, request_id: &str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml"),
    );
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// The `<Code>` of an awsQuery XML error body.
pub fn xml_error_code(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let (_, rest) = text.split_once("<Code>")?;
    let (code, _) = rest.split_once("</Code>")?;
    Some(code.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn flattened_maps_lists_and_entries_become_the_json_shape() {
        let request = QueryRequest::decode(&params(&[
            ("Action", "SendMessageBatch"),
            ("Version", "2012-11-05"),
            ("QueueUrl", "http://h/0/q"),
            ("SendMessageBatchRequestEntry.2.Id", "b"),
            ("SendMessageBatchRequestEntry.2.MessageBody", "two"),
            ("SendMessageBatchRequestEntry.10.Id", "c"),
            ("SendMessageBatchRequestEntry.1.Id", "a"),
            ("SendMessageBatchRequestEntry.1.DelaySeconds", "5"),
            (
                "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name",
                "k",
            ),
            (
                "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType",
                "String",
            ),
            (
                "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringListValue.1",
                "x",
            ),
        ]))
        .unwrap();
        assert_eq!(request.action, "SendMessageBatch");
        assert_eq!(
            request.input,
            json!({
                "QueueUrl": "http://h/0/q",
                "Entries": [
                    {"Id": "a", "DelaySeconds": 5, "MessageAttributes": {
                        "k": {"DataType": "String", "StringListValues": ["x"]}}},
                    {"Id": "b", "MessageBody": "two"},
                    {"Id": "c"},
                ]
            })
        );
    }

    #[test]
    fn create_queue_tags_are_the_lower_case_member() {
        let request = QueryRequest::decode(&params(&[
            ("Action", "CreateQueue"),
            ("QueueName", "q"),
            ("Attribute.1.Name", "DelaySeconds"),
            ("Attribute.1.Value", "1"),
            ("Tag.1.Key", "team"),
            ("Tag.1.Value", "a"),
        ]))
        .unwrap();
        assert_eq!(
            request.input,
            json!({"QueueName": "q", "Attributes": {"DelaySeconds": "1"}, "tags": {"team": "a"}})
        );
    }

    #[test]
    fn the_queue_url_may_be_the_path() {
        let uri: http::Uri = "/000000000000/q?Action=GetQueueAttributes&AttributeName.1=All"
            .parse()
            .unwrap();
        let request = QueryRequest::from_http(&uri, None, "localhost:1", b"").unwrap();
        assert_eq!(
            request.input,
            json!({"QueueUrl": "http://localhost:1/000000000000/q", "AttributeNames": ["All"]})
        );
        let root: http::Uri = "/".parse().unwrap();
        assert_eq!(
            QueryRequest::from_http(&root, Some(FORM), "h", b"x=1"),
            None
        );
    }

    #[test]
    fn results_are_written_with_flattened_members_and_the_request_id() {
        let response = encode(
            "ReceiveMessage",
            Ok(json!({"Messages": [{"Body": "a<b\r", "Attributes": {"SenderId": "1"}}]})),
            "rid",
        );
        let body = std::str::from_utf8(response.body()).unwrap();
        assert_eq!(
            body,
            "<?xml version=\"1.0\"?><ReceiveMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">\
             <ReceiveMessageResult><Message><Attribute><Name>SenderId</Name><Value>1</Value></Attribute>\
             <Body>a&lt;b&#13;</Body></Message></ReceiveMessageResult>\
             <ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></ReceiveMessageResponse>"
        );
        let response = encode("DeleteQueue", Ok(json!({})), "rid");
        let body = std::str::from_utf8(response.body()).unwrap();
        assert!(!body.contains("DeleteQueueResult"), "{body}");
    }

    #[test]
    fn errors_carry_type_and_query_code() {
        let response = xml_error(AwsError::new("QueueDoesNotExist", "gone"), "rid");
        assert_eq!(response.status(), 400);
        let body = std::str::from_utf8(response.body()).unwrap();
        assert!(
            body.contains(
                "<Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code>\
                 <Message>gone</Message><Detail/></Error><RequestId>rid</RequestId>"
            ),
            "{body}"
        );
        assert_eq!(
            xml_error_code(response.body()).as_deref(),
            Some("AWS.SimpleQueueService.NonExistentQueue")
        );
    }
}
