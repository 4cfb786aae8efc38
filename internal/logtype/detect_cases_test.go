package logtype

// detectCase is a realistic object key and the type it must be detected as.
type detectCase struct {
	name string // expected log type
	key  string
}

// builtinDetectCases has one realistic key for each built-in type, in
// registry order. The conformance suite reuses it.
var builtinDetectCases = []detectCase{
	{name: "securitylake", key: "aws/CLOUD_TRAIL_MGMT/1.0/region=ap-northeast-1/accountId=123456789012/eventDay=20240101/3f1c0a9e8b7d6c5f4e3d2c1b0a998877.gz.parquet"},
	{name: "ocsf-json", key: "ocsf-json/123456789012/ap-northeast-1/2024/01/01/ocsf-events-0001.json.gz"},
	{name: "vpcflowlogs", key: "AWSLogs/123456789012/vpcflowlogs/ap-northeast-1/2024/01/01/123456789012_vpcflowlogs_ap-northeast-1_fl-0d0aa428bb319b7c5_20240101T0000Z_2fccabb7.log.gz"},
	{name: "cloudtrail", key: "AWSLogs/123456789012/CloudTrail/ap-northeast-1/2024/01/01/123456789012_CloudTrail_ap-northeast-1_20240101T0000Z_abc.json.gz"},
	{name: "networkfirewall", key: "AWSLogs/123456789012/network-firewall/alert/ap-northeast-1/2024/01/01/00/123456789012_network-firewall_alert_ap-northeast-1_fw1_202401010000_4d1b2c3a.log.gz"},
	{name: "guardduty", key: "AWSLogs/123456789012/GuardDuty/ap-northeast-1/2024/01/01/46f8341e-17f8-498f-b884-a0bc2dca9c9e.jsonl.gz"},
	{name: "inspector", key: "AWSLogs/123456789012/Inspector2_Finding/ap-northeast-1/2024/01/01/siem-inspector-1-2024-01-01-00-00-00-0a1b2c3d.gz"},
	{name: "securityhub", key: "AWSLogs/123456789012/SecurityHub/ap-northeast-1/2024/01/01/00/aes-siem-firehose-securityhub-1-2024-01-01-00-00-00-0a1b2c3d.gz"},
	{name: "nlb", key: "AWSLogs/123456789012/elasticloadbalancing/ap-northeast-1/2024/01/01/123456789012_elasticloadbalancing_ap-northeast-1_net.my-nlb.0123456789abcdef_20240101T0000Z_1a2b3c4d.log.gz"},
	{name: "alb", key: "AWSLogs/123456789012/elasticloadbalancing/ap-northeast-1/2024/01/01/123456789012_elasticloadbalancing_ap-northeast-1_app.my-alb.0123456789abcdef_20240101T0005Z_192.0.2.10_4x5y6z7w.log.gz"},
	{name: "clb", key: "AWSLogs/123456789012/elasticloadbalancing/ap-northeast-1/2024/01/01/123456789012_elasticloadbalancing_ap-northeast-1_my-clb_20240101T0005Z_192.0.2.10_3abc4def.log"},
	{name: "s3accesslog", key: "s3-access-logs/2024-01-01-00-12-34-0A1B2C3D4E5F6A7B"},
	{name: "config-history", key: "AWSLogs/123456789012/Config/ap-northeast-1/2024/1/1/ConfigHistory/123456789012_Config_ap-northeast-1_ConfigHistory_AWS::EC2::Instance_20240101T000000Z_20240101T060000Z_1.json.gz"},
	{name: "config-snapshot", key: "AWSLogs/123456789012/Config/ap-northeast-1/2024/1/1/ConfigSnapshot/123456789012_Config_ap-northeast-1_ConfigSnapshot_20240101T000000Z_6d1c1a4e-2b3c-4d5e-8f90-0123456789ab.json.gz"},
	{name: "config-rules", key: "AWSLogs/123456789012/ConfigRules/ap-northeast-1/2024/01/01/00/aes-siem-firehose-configrules-1-2024-01-01-00-00-00-0a1b2c3d.gz"},
	{name: "cloudfront-realtime", key: "AWSLogs/123456789012/CloudFront/global/E2ABCDEFGHIJKL/realtime/2024/01/01/00/aes-siem-realtime-1-2024-01-01-00-00-00-0a1b2c3d.gz"},
	{name: "cloudfront-standard", key: "AWSLogs/123456789012/CloudFront/E2ABCDEFGHIJKL.2024-01-01-00.a5fcfc8d.gz"},
	{name: "waf", key: "AWSLogs/123456789012/WAFLogs/ap-northeast-1/my-acl/2024/01/01/00/00/123456789012_waflogs_ap-northeast-1_my-acl_20240101T0000Z_abcd1234.log.gz"},
	{name: "route53resolver", key: "AWSLogs/123456789012/vpcdnsquerylogs/vpc-0123456789abcdef0/2024/01/01/vpc-0123456789abcdef0_vpcdnsquerylogs_123456789012_20240101T0000Z_abcd1234.log.gz"},
	{name: "clientvpn", key: "AWSLogs/123456789012/ClientVPN/ap-northeast-1/2024/01/01/cvpn-endpoint-0123456789abcdef0-1.gz"},
	{name: "rds-postgresql", key: "AWSLogs/123456789012/RDS/ap-northeast-1/aurora-cluster-1/postgresql/2024/01/01/000000.gz"},
	{name: "rds-mysql-audit", key: "AWSLogs/123456789012/RDS/ap-northeast-1/database-1/mysql/audit/2024/01/01/000000.gz"},
	{name: "rds-mysql-general", key: "AWSLogs/123456789012/RDS/ap-northeast-1/database-1/mysql/general/2024/01/01/000000.gz"},
	{name: "rds-mysql-error", key: "AWSLogs/123456789012/RDS/ap-northeast-1/database-1/mariadb/error/2024/01/01/000000.gz"},
	{name: "rds-mysql-slowquery", key: "AWSLogs/123456789012/RDS/ap-northeast-1/database-1/MySQL/slowquery/2024/01/01/000000.gz"},
	{name: "elasticache-redis-slowlog", key: "AWSLogs/123456789012/ElastiCache/redis/slow-log/ap-northeast-1/2024/01/01/000000.gz"},
	{name: "msk", key: "AWSLogs/123456789012/KafkaBrokerLogs/ap-northeast-1/my-cluster-1/2024-01-01-00/Broker-1_00-00_5a6b7c8d.log.gz"},
	{name: "cloudhsm", key: "AWSLogs/123456789012/CloudHSM/ap-northeast-1/cluster-abcdefghijk/2024/01/01/000000.gz"},
	{name: "opensearch-audit", key: "AWSLogs/123456789012/OpenSearch/audit/ap-northeast-1/my-domain/2024/01/01/000000.gz"},
	{name: "workspaces-event", key: "AWSLogs/123456789012/WorkSpaces/Event/ap-northeast-1/2024/01/01/00/siem-workspaces-1-2024-01-01-00-00-00-0a1b.gz"},
	{name: "workspaces-inventory", key: "AWSLogs/123456789012/WorkSpaces/Inventory/ap-northeast-1/2024/01/01/inventory.json.gz"},
	{name: "trustedadvisor", key: "AWSLogs/123456789012/TrustedAdvisor/ap-northeast-1/2024/01/01/checks.json.gz"},
	{name: "directory-service", key: "AWSLogs/123456789012/DirectoryService/MicrosoftAD/d-1234567890/2024/01/01/000000.gz"},
	{name: "fsx-win", key: "AWSLogs/123456789012/FSx/ap-northeast-1/aws-fsx-fs-0123456789abcdef0/2024/01/01/000000.gz"},
	{name: "windows-event", key: "AWSLogs/123456789012/EC2/WindowsEvent/i-0123456789abcdef0/2024/01/01/000000.gz"},
	{name: "linux-secure", key: "AWSLogs/123456789012/EC2/Linux/Secure/i-0123456789abcdef0/2024/01/01/000000.gz"},
	{name: "linux-os-syslog", key: "AWSLogs/123456789012/EC2/Linux/Messages/i-0123456789abcdef0/2024/01/01/000000.gz"},
	{name: "apache-access", key: "AWSLogs/123456789012/EC2/Apache/Access/i-0123456789abcdef0/2024/01/01/000000.gz"},
	{name: "apache-error", key: "AWSLogs/123456789012/EC2/Apache/Error/i-0123456789abcdef0/2024/01/01/000000.gz"},
	{name: "nginx-access", key: "AWSLogs/123456789012/EC2/Nginx/Access/i-0123456789abcdef0/2024/01/01/000000.gz"},
	{name: "nginx-error", key: "AWSLogs/123456789012/EC2/nginx/error/i-0123456789abcdef0/2024/01/01/000000.gz"},
	{name: "index-metrics", key: "AWSLogs/123456789012/OpenSearch/metrics/ap-northeast-1/my-domain/2024/01/01/metrics.json.gz"},
}
