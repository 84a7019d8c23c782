output "names" {
  description = "Purpose (logs, exports, attachments, images, sandbox) → bucket name."
  value       = { for purpose, bucket in google_storage_bucket.bucket : purpose => bucket.name }
}
