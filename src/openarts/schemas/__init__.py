"""The ModelArts wire models: request bodies, query strings and answers, as the reference
writes them, with the checks of their own fields. The API and the use cases share them;
the rules a request must keep beyond its shape live in domain/ and services/."""
