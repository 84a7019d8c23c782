# Buckets: archived run logs, exports, card attachments, generated images, working copies in transit to the sandbox.
# Uniform access, no public access, lifecycle by purpose. No CORS: browsers reach objects only through the services
# (core answers an attachment's bytes, the provider router an image's), never the bucket itself.

locals {
  buckets = {
    logs = {
      name          = "${var.bucket_prefix}-logs-${var.environment}"
      nearline_days = 30
      delete_days   = var.log_retention_days
    }
    exports = {
      name          = "${var.bucket_prefix}-exports-${var.environment}"
      nearline_days = null
      delete_days   = 30 # exports are re-creatable downloads
    }
    attachments = {
      name          = "${var.bucket_prefix}-attachments-${var.environment}"
      nearline_days = 90   # files attached to cards, rarely read once the card is done
      delete_days   = null # kept while their card keeps them; core deletes an attachment's blob with it
    }
    images = {
      name          = "${var.bucket_prefix}-images-${var.environment}"
      nearline_days = null
      delete_days   = 30 # images answered as URLs; the caller keeps what it needs
    }
    sandbox = {
      name          = "${var.bucket_prefix}-sandbox-${var.environment}"
      nearline_days = null
      delete_days   = 1 # working copies and results in transit to and from the sandbox job
    }
  }
}

resource "google_storage_bucket" "bucket" {
  # checkov:skip=CKV_GCP_62: access logs go to Cloud Audit Logs (data access), not a legacy log bucket
  for_each                    = local.buckets
  project                     = var.project_id
  name                        = each.value.name
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = merge(var.labels, { purpose = each.key })

  versioning {
    enabled = true
  }

  soft_delete_policy {
    retention_duration_seconds = 604800
  }

  dynamic "lifecycle_rule" {
    for_each = each.value.nearline_days == null ? [] : [each.value.nearline_days]
    content {
      condition {
        age = lifecycle_rule.value
      }
      action {
        type          = "SetStorageClass"
        storage_class = "NEARLINE"
      }
    }
  }

  dynamic "lifecycle_rule" {
    for_each = each.value.delete_days == null ? [] : [each.value.delete_days]
    content {
      condition {
        age = lifecycle_rule.value
      }
      action {
        type = "Delete"
      }
    }
  }

  # Old object versions (overwritten or deleted) go after a week.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 7
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket_iam_member" "writer" {
  for_each = { for grant in var.object_admins : "${grant.bucket}/${grant.email}" => grant }
  bucket   = google_storage_bucket.bucket[each.value.bucket].name
  role     = "roles/storage.objectAdmin"
  member   = "serviceAccount:${each.value.email}"
}
