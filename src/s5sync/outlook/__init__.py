"""The Outlook connector: MSAL sign-in, encrypted token cache, Graph calendar client."""
