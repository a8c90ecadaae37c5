"""The hello-lambda example package."""
