# One Counterfoil environment in one region, composed of the modules above. The environments
# (staging, production) differ only in their variables.
variable "name" {
  type = string
}
variable "domain" {
  type = string
}
variable "image" {
  type = string
}
variable "redis_auth_token" {
  type      = string
  sensitive = true
}
variable "db_instance_class" {
  type = string
}
variable "web_count" {
  type = number
}
variable "worker_count" {
  type = number
}

module "kms" {
  source = "../kms"
  name   = var.name
}

module "network" {
  source      = "../network"
  name        = var.name
  kms_key_arn = module.kms.key_arn
}

module "secrets" {
  source      = "../secrets"
  name        = var.name
  kms_key_arn = module.kms.key_arn
}

module "storage" {
  source      = "../storage"
  name        = var.name
  kms_key_arn = module.kms.key_arn
}

module "waf" {
  source      = "../waf"
  name        = var.name
  kms_key_arn = module.kms.key_arn
}

module "alb" {
  source      = "../alb"
  name        = var.name
  vpc_id      = module.network.vpc_id
  subnet_ids  = module.network.public_subnet_ids
  domain      = var.domain
  web_acl_arn = module.waf.arn
}

module "ecs" {
  source                = "../ecs"
  name                  = var.name
  image                 = var.image
  vpc_id                = module.network.vpc_id
  subnet_ids            = module.network.private_subnet_ids
  alb_security_group_id = module.alb.security_group_id
  target_group_arn      = module.alb.target_group_arn
  kms_key_arn           = module.kms.key_arn
  bucket                = module.storage.bucket
  bucket_arn            = module.storage.bucket_arn
  secret_arns           = module.secrets.arns
  database_secret_arn   = module.rds.master_secret_arn
  web_count             = var.web_count
  worker_count          = var.worker_count
  environment = {
    PLATFORM_DOMAIN         = var.domain
    HTTPS                   = "true"
    DEBUG                   = "false"
    LOG_FORMAT              = "json"
    DATABASE_URL            = "postgresql://counterfoil@${module.rds.address}:5432/counterfoil?sslmode=require"
    AWS_REGION              = "eu-west-2"
    READINESS_CACHE_SECONDS = "10"
  }
}

module "rds" {
  source                    = "../rds"
  name                      = var.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.data_subnet_ids
  client_security_group_ids = [module.ecs.tasks_security_group_id]
  kms_key_arn               = module.kms.key_arn
  instance_class            = var.db_instance_class
}

module "redis" {
  source                    = "../redis"
  name                      = var.name
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.data_subnet_ids
  client_security_group_ids = [module.ecs.tasks_security_group_id]
  kms_key_arn               = module.kms.key_arn
  auth_token                = var.redis_auth_token
}

module "monitoring" {
  source                  = "../monitoring"
  name                    = var.name
  kms_key_arn             = module.kms.key_arn
  alb_arn_suffix          = module.alb.arn_suffix
  target_group_arn_suffix = module.alb.target_group_arn_suffix
  db_identifier           = module.rds.identifier
  redis_id                = var.name
  cluster_name            = module.ecs.cluster_name
}

output "load_balancer" {
  value = module.alb.dns_name
}
output "release_task_definition_arn" {
  value = module.ecs.release_task_definition_arn
}
output "alarm_topic_arn" {
  value = module.monitoring.topic_arn
}
