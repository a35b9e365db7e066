"""`/problems` and `/problems/{code}`: the page each problem's `type` names, explaining its
code in Bahasa Indonesia and in English (`marketplace.problem_catalogue`). No sign-in."""
