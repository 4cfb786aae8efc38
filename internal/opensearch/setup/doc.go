// Package setup installs what Vigil's indices need in OpenSearch and
// OpenSearch Dashboards, idempotently: component and composable index
// templates for every log type (ECS field types: ip, geo_point, nested
// threat.enrichments, dates with their formats, keyword by default), Index
// State Management policies (rollover for index_rotation = auto, deletion
// after the retention of each log type), the write aliases of rolled-over
// indices, and the saved objects of Vigil's dashboards (index patterns,
// visualizations, one dashboard per log family).
//
// Install first reads what is installed and compares it with what is
// desired after normalizing both sides (OpenSearch returns settings as
// strings, nested or flat, mappings with or without dotted names, ISM
// policies with server-side defaults), and writes only what differs: a
// second run against an unchanged cluster sends no write request at all.
// Templates of the user's own with a higher priority are left alone and
// reported.
//
// Retention deletes indices whose date suffix (daily, weekly, monthly or
// yearly rotation) is older than a given age; indices without a parsable
// suffix are never touched.
//
// The templates are the JSON files under templates/, embedded in the binary;
// the same objects, for the built-in log types, are written to
// deploy/opensearch/ by go generate for manual installation.
package setup

//go:generate go run ./gen -out ../../../deploy/opensearch
