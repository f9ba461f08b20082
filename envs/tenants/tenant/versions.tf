terraform {
  required_version = ">= 1.8.0"

  required_providers {
    pivot = {
      source  = "pivotapp/pivot"
      version = ">= 0.1.0"
    }
  }
}
