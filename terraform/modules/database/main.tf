# Cloud SQL for PostgreSQL on a private IP: one database and one user per service (a service never reads
# another's tables), each user's connection string in Secret Manager, readable by that service alone.

resource "google_sql_database_instance" "main" {
  # checkov:skip=CKV2_GCP_13: statement durations come from Query Insights; log_duration would log every statement
  # checkov:skip=CKV_GCP_6: connections arrive only on the private IP and must be encrypted (ENCRYPTED_ONLY); client certificates are not distributed to Cloud Run
  project             = var.project_id
  name                = "agentworks-${var.environment}"
  region              = var.region
  database_version    = "POSTGRES_18"
  deletion_protection = var.deletion_protection

  settings {
    tier                        = var.tier
    edition                     = "ENTERPRISE"
    availability_type           = var.high_availability ? "REGIONAL" : "ZONAL"
    disk_type                   = "PD_SSD"
    disk_autoresize             = true
    deletion_protection_enabled = var.deletion_protection
    user_labels                 = { environment = var.environment, cost_center = "platform" }

    ip_configuration {
      ipv4_enabled                                  = false
      private_network                               = var.network_id
      ssl_mode                                      = "ENCRYPTED_ONLY"
      enable_private_path_for_google_cloud_services = true
    }

    # Daily backups kept 30 days, point-in-time recovery over the last 7, stored in a multi-region.
    backup_configuration {
      enabled                        = true
      start_time                     = "02:00"
      location                       = var.backup_location
      point_in_time_recovery_enabled = true
      transaction_log_retention_days = 7
      backup_retention_settings {
        retained_backups = 30
        retention_unit   = "COUNT"
      }
    }

    maintenance_window {
      day          = 7
      hour         = 3
      update_track = "stable"
    }

    insights_config {
      query_insights_enabled  = true
      record_application_tags = true
      record_client_address   = false
    }

    # Audit logging (connections, locks, DDL, pgAudit) and the connection ceiling the alert watches.
    database_flags {
      name  = "log_checkpoints"
      value = "on"
    }
    database_flags {
      name  = "log_connections"
      value = "on"
    }
    database_flags {
      name  = "log_disconnections"
      value = "on"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
    database_flags {
      name  = "log_hostname"
      value = "on"
    }
    database_flags {
      name  = "log_min_messages"
      value = "error"
    }
    database_flags {
      name  = "log_min_error_statement"
      value = "error"
    }
    database_flags {
      name  = "log_temp_files"
      value = "0"
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "-1"
    }
    database_flags {
      name  = "log_statement"
      value = "ddl"
    }
    database_flags {
      name  = "cloudsql.enable_pgaudit"
      value = "on"
    }
    database_flags {
      name  = "pgaudit.log"
      value = "ddl,role"
    }
    database_flags {
      name  = "max_connections"
      value = tostring(var.max_connections)
    }
  }

  depends_on = [var.private_services_connection]
}

locals {
  databases = { for name in var.services : name => replace(name, "-", "_") }
}

resource "google_sql_database" "service" {
  for_each = local.databases
  project  = var.project_id
  instance = google_sql_database_instance.main.name
  name     = each.value
}

resource "random_password" "service" {
  for_each = local.databases
  length   = 40
  special  = false
}

resource "google_sql_user" "service" {
  for_each = local.databases
  project  = var.project_id
  instance = google_sql_database_instance.main.name
  name     = "aw_${each.value}"
  password = random_password.service[each.key].result
}

resource "google_secret_manager_secret" "database_url" {
  for_each  = local.databases
  project   = var.project_id
  secret_id = "${each.key}-database-url"
  labels    = { environment = var.environment, service = each.key }

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "database_url" {
  for_each = local.databases
  secret   = google_secret_manager_secret.database_url[each.key].id
  secret_data = format(
    "postgresql+psycopg://%s:%s@%s:5432/%s?sslmode=require",
    google_sql_user.service[each.key].name,
    random_password.service[each.key].result,
    google_sql_database_instance.main.private_ip_address,
    google_sql_database.service[each.key].name,
  )
}

resource "google_secret_manager_secret_iam_member" "database_url" {
  for_each  = local.databases
  project   = var.project_id
  secret_id = google_secret_manager_secret.database_url[each.key].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${var.service_emails[each.key]}"
}
