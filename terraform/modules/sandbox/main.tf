# The sandbox agents' commands run in: a Cloud Run job (one execution per command) on gVisor (first-generation
# execution environment), in a network of its own that reaches nothing but Google's storage API, as an identity
# that may only read and write the working copies under its prefix of the sandbox bucket.

locals {
  # restricted.googleapis.com: the VIP that serves only VPC-SC-supported Google APIs, Cloud Storage among them.
  restricted_vip = ["199.36.153.4", "199.36.153.5", "199.36.153.6", "199.36.153.7"]
  objects        = "projects/_/buckets/${var.bucket}/objects/${var.prefix}/"
}

resource "google_service_account" "sandbox" {
  project      = var.project_id
  account_id   = var.account_id
  display_name = "AgentWorks sandbox job (${var.environment})"
  description  = "Runs agents' commands; may only read and write working copies under ${var.prefix}/ of ${var.bucket}."
}

# The job may read and create objects, but neither list, overwrite nor delete them: a command that acts as the
# job's identity (the metadata server answers any process in the container) cannot find other runs' working
# copies, whose names hold a random run id, nor change a result once written.
resource "google_project_iam_custom_role" "job_objects" {
  project     = var.project_id
  role_id     = "agentworksSandboxObjects${title(var.environment)}"
  title       = "AgentWorks sandbox objects (${var.environment})"
  description = "Read and create objects by name; no listing, overwriting or deleting."
  permissions = ["storage.objects.create", "storage.objects.get"]
}

# The job's only grant: that role, on objects under its prefix (conditional IAM needs uniform bucket-level
# access, which the bucket has). No project roles, not even logging: the command's output comes back as an object.
resource "google_storage_bucket_iam_member" "job_objects" {
  bucket = var.bucket
  role   = google_project_iam_custom_role.job_objects.id
  member = "serviceAccount:${google_service_account.sandbox.email}"
  condition {
    title      = "sandbox-prefix-only"
    expression = "resource.name.startsWith(\"${local.objects}\")"
  }
}

# The orchestrator puts working copies and reads results there too, and may run the job with overrides.
resource "google_storage_bucket_iam_member" "orchestrator_objects" {
  bucket = var.bucket
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${var.orchestrator_email}"
  condition {
    title      = "sandbox-prefix-only"
    expression = "resource.name.startsWith(\"${local.objects}\")"
  }
}

resource "google_cloud_run_v2_job_iam_member" "orchestrator_runs" {
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_job.sandbox.name
  role     = "roles/run.jobsExecutorWithOverrides"
  member   = "serviceAccount:${var.orchestrator_email}"
}

resource "google_compute_network" "sandbox" {
  project                 = var.project_id
  name                    = "agentworks-sandbox-${var.environment}"
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
}

resource "google_compute_subnetwork" "sandbox" {
  project                  = var.project_id
  name                     = "agentworks-sandbox-${var.environment}"
  region                   = var.region
  network                  = google_compute_network.sandbox.id
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true # the restricted VIP is reached without a route to the internet

  log_config {
    aggregation_interval = "INTERVAL_10_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# Egress: HTTPS to the restricted VIP only; everything else, the internet and the platform's own network, refused.
resource "google_compute_firewall" "allow_storage_api" {
  project            = var.project_id
  name               = "agentworks-sandbox-allow-google-apis-${var.environment}"
  network            = google_compute_network.sandbox.id
  direction          = "EGRESS"
  priority           = 1000
  destination_ranges = ["199.36.153.4/30"]

  allow {
    protocol = "tcp"
    ports    = ["443"]
  }
}

resource "google_compute_firewall" "deny_egress" {
  project            = var.project_id
  name               = "agentworks-sandbox-deny-egress-${var.environment}"
  network            = google_compute_network.sandbox.id
  direction          = "EGRESS"
  priority           = 65534
  destination_ranges = ["0.0.0.0/0"]

  deny {
    protocol = "all"
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_firewall" "deny_ingress" {
  project       = var.project_id
  name          = "agentworks-sandbox-deny-ingress-${var.environment}"
  network       = google_compute_network.sandbox.id
  direction     = "INGRESS"
  priority      = 65534
  source_ranges = ["0.0.0.0/0"]

  deny {
    protocol = "all"
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

# Inside the sandbox network every *.googleapis.com name resolves to the restricted VIP.
resource "google_dns_managed_zone" "googleapis" {
  # checkov:skip=CKV_GCP_16: a private zone (one network's view of googleapis.com); DNSSEC applies to public zones
  project     = var.project_id
  name        = "agentworks-sandbox-googleapis-${var.environment}"
  dns_name    = "googleapis.com."
  description = "googleapis.com through the restricted VIP, for the sandbox network only."
  visibility  = "private"

  private_visibility_config {
    networks {
      network_url = google_compute_network.sandbox.id
    }
  }
}

resource "google_dns_record_set" "restricted" {
  project      = var.project_id
  managed_zone = google_dns_managed_zone.googleapis.name
  name         = "restricted.googleapis.com."
  type         = "A"
  ttl          = 300
  rrdatas      = local.restricted_vip
}

resource "google_dns_record_set" "wildcard" {
  project      = var.project_id
  managed_zone = google_dns_managed_zone.googleapis.name
  name         = "*.googleapis.com."
  type         = "CNAME"
  ttl          = 300
  rrdatas      = ["restricted.googleapis.com."]
}

resource "google_cloud_run_v2_job" "sandbox" {
  project             = var.project_id
  name                = var.job_name
  location            = var.region
  launch_stage        = "GA"
  deletion_protection = var.deletion_protection
  labels              = var.labels

  template {
    task_count  = 1
    parallelism = 1
    labels      = var.labels

    template {
      service_account       = google_service_account.sandbox.email
      execution_environment = "EXECUTION_ENVIRONMENT_GEN1" # gVisor
      timeout               = "${var.max_timeout_seconds}s"
      max_retries           = 0 # a command is run once; the agent decides whether to run it again

      containers {
        name  = "sandbox"
        image = var.image
        env {
          name  = "AW_SANDBOX_BUCKET"
          value = var.bucket
        }
        env {
          name  = "AW_SANDBOX_PREFIX"
          value = var.prefix
        }
        resources {
          limits = {
            cpu    = var.cpu
            memory = var.memory
          }
        }
      }

      vpc_access {
        egress = "ALL_TRAFFIC"
        network_interfaces {
          network    = google_compute_network.sandbox.id
          subnetwork = google_compute_subnetwork.sandbox.id
        }
      }
    }
  }

  depends_on = [google_storage_bucket_iam_member.job_objects, google_dns_record_set.wildcard]
}
