# State lives in a GCS bucket created once per project (see README "Deploying to Google Cloud"):
#   terraform init -backend-config=backend.hcl
terraform {
  backend "gcs" {}
}
