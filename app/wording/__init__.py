"""How the catalogue speaks to people: the wording of every problem (zh-Hans, zh-Hant and
English, reading the problem's own values), of import reports and of the pages' labels. One
wording for the pages, the API's ``text`` fields and the command line; it imports no web
framework, so the HTTP layer and the pages both use it."""
