"""Purchase certificates: a record of a sale, signed with the product's key like a status document.

``document`` builds and signs one from a license and its purchase (on
demand: nothing is stored, so a certificate always names the license as it
stands when signed); ``router`` serves it to the admin UI, the developer API
and the customer portal; the license email carries one as an attachment.
"""
