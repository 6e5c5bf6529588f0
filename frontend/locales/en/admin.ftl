admin-title = Administration
