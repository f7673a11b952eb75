# Counterfoil's production environment, in London (eu-west-2). State in an encrypted, versioned S3
# bucket with a lock table, made once by hand (infra/RUNBOOK.md, "First deployment").
terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
  }
  backend "s3" {
    bucket         = "counterfoil-terraform-state"
    key            = "production/terraform.tfstate"
    region         = "eu-west-2"
    encrypt        = true
    dynamodb_table = "counterfoil-terraform-locks"
  }
}

provider "aws" {
  region = "eu-west-2"
  default_tags {
    tags = {
      Service     = "counterfoil"
      Environment = "production"
    }
  }
}

variable "image" {
  type        = string
  description = "The release's image, by digest (registry/counterfoil@sha256:...)"
}

variable "redis_auth_token" {
  type      = string
  sensitive = true
}

module "platform" {
  source            = "../../modules/platform"
  name              = "counterfoil-production"
  domain            = "counterfoil.example.org"
  image             = var.image
  redis_auth_token  = var.redis_auth_token
  db_instance_class = "db.r6g.xlarge"
  web_count         = 3
  worker_count      = 3
}

output "load_balancer" {
  value = module.platform.load_balancer
}

output "release_task_definition_arn" {
  value = module.platform.release_task_definition_arn
}
