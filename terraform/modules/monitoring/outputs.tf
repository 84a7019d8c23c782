output "alert_policies" {
  description = "Alert key → policy name."
  value       = { for key, policy in google_monitoring_alert_policy.alert : key => policy.name }
}
