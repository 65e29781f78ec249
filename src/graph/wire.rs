//! Microsoft Graph's partner billing shapes (graph-billing-v2.md A.5, A.6), read tolerantly: every
//! documented variant is accepted (`succeeded` or `completed`, inline or linked manifest,
//! `compressedJSON` or `compressedJSONLines`, PascalCase as in Microsoft's sample).

use secrecy::SecretString;
use serde::Deserialize;

use crate::model::exports::ExportError;

/// X5: a running, successful or failed operation (told apart by `status`, then `@odata.type`).
#[derive(Debug, Deserialize)]
pub struct WireOperation {
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    #[serde(default, alias = "Status")]
    pub status: Option<String>,
    #[serde(rename = "createdDateTime", alias = "CreatedDateTime", default)]
    pub created_date_time: Option<String>,
    #[serde(rename = "lastActionDateTime", alias = "LastActionDateTime", default)]
    pub last_action_date_time: Option<String>,
    /// The manifest itself (Microsoft's sample reads it this way).
    #[serde(rename = "resourceLocation", alias = "ResourceLocation", default)]
    pub resource_location: Option<serde_json::Value>,
    /// Where the manifest is (the documented example).
    #[serde(rename = "resourceLocation@odata.navigationLink", default)]
    pub navigation_link: Option<String>,
    #[serde(default, alias = "Error")]
    pub error: Option<WireError>,
}

#[derive(Debug, Deserialize)]
pub struct WireError {
    #[serde(default, alias = "Code", deserialize_with = "string_or_number")]
    pub code: Option<String>,
    #[serde(default, alias = "Message")]
    pub message: Option<String>,
}

/// Graph's error envelope for non-2xx answers.
#[derive(Debug, Deserialize)]
pub struct WireErrorBody {
    pub error: WireError,
}

/// What an operation says, in the gateway's terms.
#[derive(Debug)]
pub enum OperationState {
    Running,
    Succeeded(ManifestSource),
    Failed(ExportError),
}

/// How a finished export leads to its manifest.
#[derive(Debug)]
pub enum ManifestSource {
    Inline(Box<WireManifest>),
    Link(String),
}

impl WireOperation {
    /// `None` when the answer fits none of the documented shapes.
    pub fn state(self) -> Result<OperationState, String> {
        let status = self.status.as_deref().unwrap_or_default().to_ascii_lowercase();
        let odata_type = self.odata_type.as_deref().unwrap_or_default().to_ascii_lowercase();
        let succeeded = matches!(status.as_str(), "succeeded" | "completed")
            || (status.is_empty() && odata_type.ends_with("exportsuccessoperation"));
        let failed = status == "failed" || (status.is_empty() && odata_type.ends_with("failedoperation"));
        if succeeded {
            if let Some(inline) = self.resource_location.filter(serde_json::Value::is_object) {
                let manifest: WireManifest =
                    serde_json::from_value(inline).map_err(|e| format!("inline manifest: {e}"))?;
                return Ok(OperationState::Succeeded(ManifestSource::Inline(Box::new(manifest))));
            }
            return match self.navigation_link.filter(|l| !l.is_empty()) {
                Some(link) => Ok(OperationState::Succeeded(ManifestSource::Link(link))),
                None => Err("a finished operation names no manifest".to_owned()),
            };
        }
        if failed {
            let error = self.error.unwrap_or(WireError { code: None, message: None });
            return Ok(OperationState::Failed(ExportError {
                code: error.code.unwrap_or_default(),
                message: error.message.unwrap_or_else(|| "the export failed".to_owned()),
            }));
        }
        match status.as_str() {
            "notstarted" | "running" => Ok(OperationState::Running),
            "" if odata_type.ends_with("runningoperation") => Ok(OperationState::Running),
            other => Err(format!("unknown operation status {other:?}")),
        }
    }
}

/// X6 (or inline): where the data files are and the SAS to read them.
#[derive(Deserialize)]
pub struct WireManifest {
    #[serde(rename = "rootDirectory", alias = "RootDirectory")]
    pub root_directory: String,
    /// A secret: never logged, never shown.
    #[serde(rename = "sasToken", alias = "SasToken")]
    pub sas_token: SecretString,
    #[serde(rename = "eTag", alias = "ETag", alias = "etag", default)]
    pub etag: Option<String>,
    #[serde(rename = "dataFormat", alias = "DataFormat", default)]
    pub data_format: Option<String>,
    #[serde(rename = "blobCount", alias = "BlobCount", default)]
    pub blob_count: Option<u32>,
    #[serde(default, alias = "Blobs")]
    pub blobs: Vec<WireBlob>,
}

impl std::fmt::Debug for WireManifest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireManifest")
            .field("root_directory", &super::urls::loggable_text(&self.root_directory))
            .field("blob_count", &self.blob_count)
            .field("blobs", &self.blobs.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
pub struct WireBlob {
    #[serde(alias = "Name")]
    pub name: String,
    /// Not in the Graph resource; Microsoft's sample model has it.
    #[serde(rename = "itemCount", alias = "ItemCount", default)]
    pub item_count: Option<u64>,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(deserializer)? {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;
    use serde_json::json;

    use super::*;

    fn state(value: serde_json::Value) -> Result<OperationState, String> {
        serde_json::from_value::<WireOperation>(value).expect("shape").state()
    }

    #[test]
    fn every_documented_operation_shape_is_understood() {
        let running = json!({"@odata.type": "#microsoft.graph.partners.billing.runningOperation", "id": "1", "status": "running", "createdDateTime": "2023-03-09T08:12:53"});
        assert!(matches!(state(running), Ok(OperationState::Running)));
        assert!(matches!(state(json!({"status": "notStarted"})), Ok(OperationState::Running)));
        for status in ["succeeded", "completed"] {
            let done = json!({"status": status, "resourceLocation@odata.navigationLink": "https://graph.microsoft.com/v1.0/reports/partners/billing/manifests/8"});
            assert!(matches!(state(done), Ok(OperationState::Succeeded(ManifestSource::Link(_)))), "{status}");
        }
        let inline = json!({"status": "succeeded", "resourceLocation": {"id": "m", "rootDirectory": "https://a.blob.core.windows.net/c", "sasToken": "sv=1&sig=x", "blobCount": 1, "blobs": [{"name": "part-1.json.gz", "partitionValue": "default"}]}});
        match state(inline) {
            Ok(OperationState::Succeeded(ManifestSource::Inline(manifest))) => {
                assert_eq!(manifest.blobs[0].name, "part-1.json.gz");
                assert_eq!(manifest.sas_token.expose_secret(), "sv=1&sig=x");
                assert!(!format!("{manifest:?}").contains("sig=x"), "the SAS never prints");
            }
            other => panic!("{other:?}"),
        }
        let failed = json!({"@odata.type": "#microsoft.graph.partners.billing.failedOperation", "status": "failed", "error": {"code": "5000", "message": "No data available"}});
        match state(failed) {
            Ok(OperationState::Failed(error)) => {
                assert_eq!((error.code.as_str(), error.message.as_str()), ("5000", "No data available"))
            }
            other => panic!("{other:?}"),
        }
        assert!(state(json!({"status": "succeeded"})).is_err(), "no manifest");
        assert!(state(json!({"status": "paused"})).is_err());
    }

    #[test]
    fn manifests_in_microsofts_sample_casing_parse_too() {
        let manifest: WireManifest = serde_json::from_value(json!({"RootDirectory": "https://a.blob.core.windows.net/c", "SasToken": "s", "BlobCount": 2, "Blobs": [{"Name": "a", "ItemCount": 5}, {"Name": "b", "ItemCount": 7}]})).expect("sample casing");
        assert_eq!(manifest.blobs.iter().filter_map(|b| b.item_count).sum::<u64>(), 12);
    }
}
