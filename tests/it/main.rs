mod formats_app;
