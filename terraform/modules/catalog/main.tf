# What the platform is made of, as plain data: no resources and no providers, so the tests can evaluate it
# offline (`terraform console`) and compare it with the services' code and contracts/topology.yaml.

locals {
  topology = yamldecode(file(var.topology_file))
  names    = ["gateway", "core", "orchestrator", "provider-router", "log-stream", "billing"]

  # One entry per service under services/. `trusts` is every caller the service's routes admit (allow_callers),
  # `calls` the peers whose *_url settings it has, `reads_secrets` the Secret Manager secrets it reads by name,
  # `pool` the database connections one instance may hold (pool, overflow, and any held outside the pool).
  definitions = {
    gateway = {
      public           = true
      trusts           = []
      calls            = ["core", "orchestrator", "provider-router", "log-stream", "billing"]
      reads_secrets    = []
      cpu              = "1"
      memory           = "512Mi"
      concurrency      = 250
      timeout_seconds  = 3600 # WebSocket terminals pass through the gateway
      cpu_idle         = true
      session_affinity = true
      scaling          = { min = 1, max = 20 }
      pool             = { size = 5, overflow = 2, dedicated = 0 }
      settings = {
        TRUSTED_PROXY_HOPS = "1" # Cloud Run's front end appends the client's address to X-Forwarded-For
        ALLOWED_ORIGINS    = jsonencode([local.public_origin])
      }
    }
    core = {
      public           = false
      trusts           = ["billing", "gateway", "log-stream", "orchestrator"]
      calls            = ["provider-router"]
      reads_secrets    = []
      cpu              = "1"
      memory           = "512Mi"
      concurrency      = 100
      timeout_seconds  = 60
      cpu_idle         = false # the outbox relay publishes between requests
      session_affinity = false
      scaling          = { min = 1, max = 20 }
      pool             = { size = 5, overflow = 2, dedicated = 0 }
      settings = {
        DOCUMENTS_BACKEND  = "firestore"
        FIRESTORE_DATABASE = var.firestore_database
        BLOBS_BACKEND      = "gcs"
        ATTACHMENTS_BUCKET = var.attachments_bucket
      }
    }
    orchestrator = {
      public           = false
      trusts           = ["gateway"]
      calls            = ["core", "provider-router", "billing"]
      reads_secrets    = []
      cpu              = "1"
      memory           = "1Gi"
      concurrency      = 20  # each push request is one agent run, done before it is acknowledged
      timeout_seconds  = 900 # above the card-events subscription's 600 s acknowledgement deadline
      cpu_idle         = false
      session_affinity = false
      scaling          = { min = 1, max = 50 }
      pool             = { size = 5, overflow = 2, dedicated = 0 }
      settings = {
        SANDBOX        = "cloud-run-job"
        SANDBOX_JOB    = local.sandbox.job
        SANDBOX_REGION = var.region
        SANDBOX_BUCKET = var.sandbox_bucket
        REPOS_BACKEND  = "ssm"
        SSM_INSTANCE   = local.repositories.instance
        SSM_LOCATION   = var.region
        GIT_PUBLIC_URL = "${local.public_origin}/git"
        # Connected remotes' tokens, one secret per project (project-git-token-<project id>).
        SECRETS_BACKEND = "secret-manager"
      }
    }
    provider-router = {
      public           = false
      trusts           = ["core", "gateway", "operator", "orchestrator"]
      calls            = []
      reads_secrets    = ["openai-api-key", "anthropic-api-key", "google-api-key"]
      cpu              = "1"
      memory           = "512Mi"
      concurrency      = 100
      timeout_seconds  = 900
      cpu_idle         = false
      session_affinity = false
      scaling          = { min = 1, max = 20 }
      pool             = { size = 5, overflow = 2, dedicated = 0 }
      settings = {
        SECRETS_BACKEND = "secret-manager"
        BLOBS_BACKEND   = "gcs"
        IMAGES_BUCKET   = var.images_bucket
      }
    }
    log-stream = {
      public           = false
      trusts           = ["gateway", "scheduler"]
      calls            = ["core"]
      reads_secrets    = []
      cpu              = "1"
      memory           = "1Gi"
      concurrency      = 1000 # mostly idle WebSocket clients
      timeout_seconds  = 3600
      cpu_idle         = false
      session_affinity = true
      scaling          = { min = 1, max = 20 }
      pool             = { size = 5, overflow = 2, dedicated = 1 } # log-stream's LISTEN connection is its own
      settings = {
        BLOBS_BACKEND = "gcs"
        LOGS_BUCKET   = var.logs_bucket
      }
    }
    billing = {
      public           = false
      trusts           = ["gateway", "operator", "orchestrator", "scheduler"]
      calls            = ["core"]
      reads_secrets    = ["stripe-secret-key", "stripe-webhook-secret"]
      cpu              = "1"
      memory           = "512Mi"
      concurrency      = 100
      timeout_seconds  = 300
      cpu_idle         = false # the usage-events consumer pulls between requests
      session_affinity = false
      scaling          = { min = 1, max = 10 }
      pool             = { size = 5, overflow = 2, dedicated = 0 }
      settings = {
        SECRETS_BACKEND     = "secret-manager"
        SCHEDULE_IN_PROCESS = "false" # Cloud Scheduler calls the internal jobs
      }
    }
  }

  # Identities that are not services: Pub/Sub's push identity, Cloud Scheduler's, and the one operators
  # impersonate to call the operator endpoints (a workspace's plan, the providers' health).
  principals = concat(local.names, ["pubsub-invoker", "scheduler", "operator"])
  account_id = { for name in local.principals : name => "aw-${name}" }
  email      = { for name in local.principals : name => "aw-${name}@${var.project_id}.iam.gserviceaccount.com" }

  # Cloud Run's deterministic URL: https://<service>-<project number>.<region>.run.app
  service_name  = { for name in local.names : name => "agentworks-${name}" }
  url           = { for name, service in local.service_name : name => "https://${service}-${var.project_number}.${var.region}.run.app" }
  public_origin = var.public_origin != "" ? var.public_origin : local.url["gateway"]

  push_subscriptions = [for s in local.topology.subscriptions : s if try(s.push_path, null) != null]
  subscribers        = toset([for s in local.push_subscriptions : s.subscriber])

  env_prefix = { for name in local.names : name => "AW_${upper(replace(name, "-", "_"))}_" }

  # The Secure Source Manager instance project repositories live in (decision 0010), in the services' region.
  repositories = {
    instance = "agentworks"
  }

  # The sandbox job agents' commands run in (terraform/modules/sandbox), named here so that the orchestrator's
  # settings and the job agree.
  sandbox = {
    job    = "agentworks-sandbox"
    image  = "${var.image_repository}/sandbox:${var.image_tag}"
    bucket = var.sandbox_bucket
    prefix = "sandbox"
  }

  # The connection budget (docs/decisions/0006): every instance may hold its pool, its overflow and its dedicated
  # connections at once. When the requested ceilings would need more than the server accepts (max_connections less
  # what is reserved for administration and migrations), every ceiling shrinks by the same factor, so that
  # instances × connections always fit; the `services` output refuses a plan where the minimums alone do not.
  connections_per_instance = { for name, d in local.definitions : name => d.pool.size + d.pool.overflow + d.pool.dedicated }
  requested_scaling        = { for name, d in local.definitions : name => lookup(var.scaling, name, d.scaling) }
  connection_budget        = var.database_max_connections - var.database_reserved_connections
  connection_demand        = sum([for name, s in local.requested_scaling : s.max * local.connections_per_instance[name]])
  connection_scale         = min(1, local.connection_budget / local.connection_demand)
  max_instances = {
    for name, s in local.requested_scaling : name => max(1, s.min, floor(s.max * local.connection_scale))
  }
  connections_at_max = sum([for name, count in local.max_instances : count * local.connections_per_instance[name]])

  services = {
    for name, d in local.definitions : name => {
      name             = local.service_name[name]
      account_id       = local.account_id[name]
      email            = local.email[name]
      url              = local.url[name]
      image            = "${var.image_repository}/${name}:${var.image_tag}"
      public           = d.public
      cpu              = d.cpu
      memory           = d.memory
      concurrency      = d.concurrency
      timeout_seconds  = d.timeout_seconds
      cpu_idle         = d.cpu_idle
      session_affinity = d.session_affinity
      min_instances    = local.requested_scaling[name].min
      max_instances    = local.max_instances[name]
      db_connections   = local.connections_per_instance[name]
      # Who may invoke it: the callers its code trusts, plus Pub/Sub's push identity where it subscribes.
      invokers = concat(
        [for caller in d.trusts : local.email[caller]],
        contains(local.subscribers, name) ? [local.email["pubsub-invoker"]] : [],
      )
      database_url_secret = "${name}-database-url"
      reads_secrets       = d.reads_secrets
      env = {
        for key, value in merge(
          {
            ENVIRONMENT           = "prod"
            PUBLIC_URL            = local.url[name]
            GCP_PROJECT           = var.project_id
            SERVICE_ACCOUNT_EMAIL = local.email[name]
            PUBSUB_PUSH_EMAIL     = local.email["pubsub-invoker"]
            TRUSTED_CALLERS       = jsonencode({ for caller in d.trusts : caller => local.email[caller] })
            TRACE_EXPORTER        = "gcp"
            DB_POOL_SIZE          = tostring(d.pool.size)
            DB_MAX_OVERFLOW       = tostring(d.pool.overflow)
          },
          { for peer in d.calls : "${upper(replace(peer, "-", "_"))}_URL" => local.url[peer] },
          d.settings,
        ) : "${local.env_prefix[name]}${key}" => value
      }
      env_prefix       = local.env_prefix[name]
      database_url_env = "${local.env_prefix[name]}DATABASE_URL"
    }
  }

  # Every secret and the services that read it: nobody else is granted access.
  secret_accessors = merge(
    { for name, s in local.services : s.database_url_secret => [name] },
    {
      for secret in distinct(flatten([for d in local.definitions : d.reads_secrets])) :
      secret => sort([for name, d in local.definitions : name if contains(d.reads_secrets, secret)])
    },
  )
  operator_secrets = sort(distinct(flatten([for d in local.definitions : d.reads_secrets])))

  topics = { for t in local.topology.topics : t.name => {
    dead_letter = try(t.dead_letter, false)
    publishers  = try(t.publishers, [])
  } }

  subscriptions = { for s in local.topology.subscriptions : s.name => {
    topic                 = s.topic
    subscriber            = try(s.subscriber, null)
    push_endpoint         = try(s.push_path, null) == null ? null : "${local.url[s.subscriber]}${s.push_path}"
    audience              = try(s.push_path, null) == null ? null : local.url[s.subscriber]
    ack_deadline_seconds  = try(s.ack_deadline_seconds, 60)
    minimum_backoff       = "${try(s.retry.minimum_backoff_seconds, 10)}s"
    maximum_backoff       = "${try(s.retry.maximum_backoff_seconds, 600)}s"
    max_delivery_attempts = try(s.max_delivery_attempts, null)
    dead_letter_topic     = try(s.dead_letter_topic, null)
    ordering              = try(s.enable_message_ordering, false)
    filter                = try(s.filter, "")
    retention             = "${try(s.message_retention_days, 7) * 86400}s"
  } }
}
