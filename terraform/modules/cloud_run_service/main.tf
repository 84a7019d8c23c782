# One AgentWorks service on Cloud Run: its revision template, who may invoke it, and its migration job.

resource "google_cloud_run_v2_service" "service" {
  project             = var.project_id
  name                = var.service.name
  location            = var.region
  ingress             = var.service.public ? "INGRESS_TRAFFIC_ALL" : "INGRESS_TRAFFIC_INTERNAL_ONLY"
  deletion_protection = var.deletion_protection
  labels              = merge(var.labels, { service = var.name })

  template {
    service_account                  = var.service.email
    timeout                          = "${var.service.timeout_seconds}s"
    max_instance_request_concurrency = var.service.concurrency
    session_affinity                 = var.service.session_affinity
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"
    labels                           = merge(var.labels, { service = var.name })

    scaling {
      min_instance_count = var.service.min_instances
      max_instance_count = var.service.max_instances
    }

    vpc_access {
      egress = "ALL_TRAFFIC" # peers' internal ingress only admits calls that come through the VPC
      network_interfaces {
        network    = var.network_id
        subnetwork = var.subnetwork_id
      }
    }

    containers {
      image = var.service.image

      ports {
        container_port = 8080
      }

      resources {
        limits            = { cpu = var.service.cpu, memory = var.service.memory }
        cpu_idle          = var.service.cpu_idle
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = var.service.env
        content {
          name  = env.key
          value = env.value
        }
      }

      env {
        name = var.service.database_url_env
        value_source {
          secret_key_ref {
            secret  = var.database_url_secret
            version = "latest"
          }
        }
      }

      startup_probe {
        http_get {
          path = "/readyz" # answers once the database is reachable
        }
        period_seconds    = 3
        timeout_seconds   = 2
        failure_threshold = 20
      }

      liveness_probe {
        http_get {
          path = "/healthz"
        }
        period_seconds    = 15
        timeout_seconds   = 3
        failure_threshold = 3
      }
    }
  }
}

resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = toset(var.service.invokers)
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.service.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${each.value}"
}

resource "google_cloud_run_v2_service_iam_member" "public" {
  # checkov:skip=CKV_GCP_102: the gateway is the public entry point; it authenticates every request itself
  count    = var.service.public ? 1 : 0
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.service.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# `agentworks-service migrate` with the service's image and identity. Cloud Build points it at each new
# image and runs it before Terraform rolls the service, so the image tag is not Terraform's to reset.
resource "google_cloud_run_v2_job" "migrate" {
  project             = var.project_id
  name                = "${var.service.name}-migrate"
  location            = var.region
  deletion_protection = var.deletion_protection
  labels              = merge(var.labels, { service = var.name })

  template {
    task_count = 1
    template {
      service_account = var.service.email
      timeout         = "600s"
      max_retries     = 1

      vpc_access {
        egress = "PRIVATE_RANGES_ONLY"
        network_interfaces {
          network    = var.network_id
          subnetwork = var.subnetwork_id
        }
      }

      containers {
        image   = var.service.image
        command = ["agentworks-service"]
        args    = ["migrate"]

        env {
          name  = "${var.service.env_prefix}ENVIRONMENT"
          value = "prod"
        }

        env {
          name = var.service.database_url_env
          value_source {
            secret_key_ref {
              secret  = var.database_url_secret
              version = "latest"
            }
          }
        }
      }
    }
  }

  lifecycle {
    ignore_changes = [template[0].template[0].containers[0].image]
  }
}
