"""The site: a build pipeline from the store to a folder of static files.

    store ──gather──► model ──pages──► render (theme) ──write──► site/

One module per stage; :mod:`xsite.site.build` is where they meet, and where plugins
(:mod:`xsite.hooks`) step in between them.
"""
