# The private network: Cloud Run egress (Direct VPC), Cloud SQL's private IP, and NAT for provider APIs.

resource "google_compute_network" "vpc" {
  project                 = var.project_id
  name                    = "agentworks-${var.environment}"
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
}

# Nothing listens on the VPC: Cloud Run only sends from it. Refuse every inbound connection, and log it.
resource "google_compute_firewall" "deny_ingress" {
  project   = var.project_id
  name      = "agentworks-deny-ingress-${var.environment}"
  network   = google_compute_network.vpc.id
  direction = "INGRESS"
  priority  = 65534

  deny {
    protocol = "all"
  }

  source_ranges = ["0.0.0.0/0"]

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_subnetwork" "services" {
  project                  = var.project_id
  name                     = "agentworks-services-${var.environment}"
  region                   = var.region
  network                  = google_compute_network.vpc.id
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true # service-to-service calls and Google APIs stay on Google's network

  log_config {
    aggregation_interval = "INTERVAL_10_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_router" "egress" {
  project = var.project_id
  name    = "agentworks-egress-${var.environment}"
  region  = var.region
  network = google_compute_network.vpc.id
}

resource "google_compute_router_nat" "egress" {
  project                            = var.project_id
  name                               = "agentworks-nat-${var.environment}"
  region                             = var.region
  router                             = google_compute_router.egress.name
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}

resource "google_compute_global_address" "private_services" {
  project       = var.project_id
  name          = "agentworks-private-services-${var.environment}"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = 16
  network       = google_compute_network.vpc.id
}

resource "google_service_networking_connection" "private_services" {
  network                 = google_compute_network.vpc.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_services.name]
}
